"""Suite-wide options: the long and the privileged tests are opt-in; bytecode is cached
even where the environment says not to write it (see `_cache_bytecode_outside_the_tree`)."""

from __future__ import annotations

import gc
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Generator, Sequence
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.pycache_prune import ours_alone, prune_now_and_then


def _cache_bytecode_outside_the_tree() -> None:
    """With PYTHONDONTWRITEBYTECODE set, every test worker compiled every test and product
    module from source, and so did every one of the ~300 ChatApp processes the end-to-end
    tests start (0.1-0.15 s of CPU each, a quarter of the suite's CPU on two cores). Such an
    environment keeps `__pycache__` out of the source tree; the suite keeps that promise and
    caches bytecode in a directory of its own instead (PYTHONPYCACHEPREFIX, a per-user one
    in the temporary directory unless one is set), for this process and, through the
    environment, for the test workers and every process they start. Python checks each
    cached file against its source, so a stale one is never used. The suite's own folder
    is pruned now and then (tests/pycache_prune.py). Without PYTHONDONTWRITEBYTECODE,
    Python caches as usual and nothing is changed."""
    if not sys.dont_write_bytecode:
        return
    own = os.path.join(tempfile.gettempdir(), f"chatapp-tests-pycache-{os.getuid()}")
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or own
    try:
        os.makedirs(prefix, mode=0o700, exist_ok=True)
    except OSError:
        return
    if not ours_alone(Path(prefix)):
        return  # a link, or not ours alone: code cached there could be anyone's
    if prefix == own and "PYTEST_XDIST_WORKER" not in os.environ:
        # Our folder grows by a copy of the project per clone path; one set by the user
        # is theirs to look after. Pruned by the suite's first process only, at most daily.
        prune_now_and_then(Path(prefix))
    sys.pycache_prefix = str(Path(prefix))
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


_cache_bytecode_outside_the_tree()

# Every process the tests start reads and writes UTF-8 whatever the machine's locale: said
# once here, in the environment they inherit, so that their starts all have the same
# settings and are forked by one server per worker and buffering (tests/fork_server.py).
os.environ["PYTHONIOENCODING"] = "utf-8"

# Imported once bytecode is cached: pytest rewrites the modules of a package with a pytest
# plugin, as hypothesis is; where bytecode is not written, each worker rewrote some 70.
from hypothesis import settings  # noqa: E402

from tests.hypothesis_profiles import DEFAULT  # noqa: E402
from wire.version import build_name  # noqa: E402

#: A file system in memory, where the machine has one.
IN_MEMORY = Path("/dev/shm")
#: The free bytes it must have to take the tests' folders (a run writes some tens of MB).
IN_MEMORY_ROOM = 1 << 30


def _temporary_folders_in_memory() -> None:
    """The program syncs what it keeps to disk (fsync) as it writes it, and so it does in
    the tests' folders: on a disk, each sync is a journal commit the kernel does (with
    the stores' and files' tests, a tenth of their CPU, as system time). Where there is a file
    system in memory with room to spare, the tests' temporary folders are made there: the
    same calls, without the disk. That is pytest's `tmp_path` and what `tempfile` makes,
    here, in the test workers and in the processes the tests start (TMPDIR, which they
    inherit). A TMPDIR already set is kept; so is bytecode's cache (see above)."""
    if "TMPDIR" in os.environ or not IN_MEMORY.is_dir():
        return
    try:
        room = os.statvfs(IN_MEMORY)
    except OSError:
        return
    if room.f_bavail * room.f_frsize < IN_MEMORY_ROOM or not os.access(IN_MEMORY, os.W_OK):
        return
    tempfile.tempdir = os.environ["TMPDIR"] = str(IN_MEMORY)


_temporary_folders_in_memory()

#: Fewer test modules than this to rewrite, and the workers rewrite them each: a process of
#: pytest's own to do it once costs more than it saves.
REWRITE_ONCE_FROM = 10


def _not_yet_rewritten(modules: list[Path]) -> list[Path]:
    """The test `modules` whose assertion-rewritten bytecode (pytest's, beside the module's
    own in the bytecode cache) is missing or not of the module's present text. pytest 9
    checks its cached file by a hash of the source; one checked otherwise counts as
    missing (then rewritten once more than needed)."""
    tag = f".{sys.implementation.cache_tag}-pytest-{pytest.__version__}.pyc"
    missing = []
    for module in modules:
        cached = Path(importlib.util.cache_from_source(str(module))).with_name(module.stem + tag)
        try:
            current = (
                cached.read_bytes()[8:16] == importlib.util.source_hash(module.read_bytes())[:8]
            )
        except OSError:
            current = False
        if not current:
            missing.append(module)
    return missing


def _test_modules(config: pytest.Config) -> list[Path]:
    """The test modules the run's arguments name or hold (pytest's `python_files`, outside
    its `norecursedirs`)."""
    names, skipped = config.getini("python_files"), config.getini("norecursedirs")
    modules = []
    for arg in config.args:
        given = config.invocation_params.dir / arg.split("::")[0]
        for module in [given] if given.is_file() else sorted(given.rglob("*.py")):
            folders = module.relative_to(given).parts[:-1] if module != given else ()
            if any(fnmatch(module.name, name) for name in names) and not any(
                fnmatch(folder, skip) for folder in folders for skip in skipped
            ):
                modules.append(module)
    return modules


def _make_unicode_tables() -> None:
    """Make and keep (in .hypothesis/, beside the tests) the tables of characters that
    hypothesis' text strategies draw from. Where they are not kept yet (a fresh clone), each
    test worker made them at its first drawn text: some 2.7 s of CPU each, 19 s of the
    suite's. Made once here, before the workers start, each worker reads them (a few ms)."""
    from hypothesis.internal.charmap import charmap, intervals_from_codec

    charmap()
    intervals_from_codec("utf-8")  # the codec of st.text()'s own alphabet


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: Sequence[object]) -> None:
    """Before the test workers start, rewrite the test modules' assertions once, as pytest
    does when it imports them, and cache them. Each worker collects (imports) every test
    module, so on a fresh clone all five rewrote all of them at once: some 6 s of CPU each,
    30 s of the suite's CPU and 15 s of its time on two cores. Here it is done by a
    collection in as many processes as there are cores (up to the workers), each taking a
    share of the modules; the workers then load the cached result. Nothing is done when
    the cache is current (a run after the first). Hypothesis' Unicode tables are made here
    too, while those processes run (`_make_unicode_tables`)."""
    todo = _not_yet_rewritten(_test_modules(config))
    if len(todo) < REWRITE_ONCE_FROM:
        _make_unicode_tables()
        return
    shares = max(min(os.cpu_count() or 1, len(specs)), 1)
    todo.sort(key=lambda module: module.stat().st_size, reverse=True)
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts="]
    command += ["-p", "no:randomly", "-p", "no:cacheprovider"]
    procs = [
        subprocess.Popen(
            [*command, *map(str, todo[share::shares])],
            cwd=config.rootpath,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for share in range(shares)
    ]
    _make_unicode_tables()
    for proc in procs:  # its errors, if any, the workers' collection reports
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# a quarter of each property's examples, unless --hypothesis-profile thorough says all
settings.load_profile(DEFAULT)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-soak", action="store_true", help="run the long randomized soaks")
    parser.addoption(
        "--run-netns", action="store_true", help="run the tests in a lossy network namespace"
    )


#: Words in the path of a file of tests that compute for long: the simulated networks'
#: and the state machines' (hypothesis runs many examples of each).
_COMPUTING = ("propert", "_sim", "simulation", "stateful")


def _first_to_run(item: pytest.Item) -> int:
    """The longest tests go first (those marked slow, then the other real processes', the
    simulations' and hypothesis' properties and state machines, wherever they are), so the
    workers end together on short unit tests, not on one long test each (a state machine
    of 10-17 s, an end-to-end test of 18 s, were seen last to end)."""
    if item.get_closest_marker("slow"):
        return 0
    path = item.nodeid.split("::")[0]
    long = "e2e" in path or any(word in path for word in _COMPUTING) or _of_hypothesis(item)
    return 1 if long else 2


def _waits(item: pytest.Item) -> bool:
    """Whether `item` mostly waits (on real processes and the program's real timers)
    rather than computes: the end-to-end tests, and the others marked slow but for the
    simulations and properties."""
    path = item.nodeid.split("::")[0]
    slow = item.get_closest_marker("slow") is not None
    return "e2e" in path or (slow and not any(word in path for word in _COMPUTING))


def _of_hypothesis(item: pytest.Item) -> bool:
    """Whether `item` runs many examples: a hypothesis property or state machine."""
    cls = getattr(item, "cls", None)
    machine = cls is not None and isinstance(getattr(cls, "settings", None), settings)
    return machine or bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


def _dealt(items: list[pytest.Item]) -> list[pytest.Item]:
    """`items`, longest first, dealt to the test workers as cards are: pytest-xdist's
    `worksteal` gives each worker an equal run of the list to start with, so each run is
    one worker's hand, its long tests first. (In one run for all, the first worker took
    every long test, and the others took them back one by one, the last ones late.) In
    each hand, the tests that compute go between those that wait, so that while some
    workers wait others use the CPU: with all waits first, the two cores of the suite's
    machine sat a third idle while every worker waited, then all computed at the end."""
    ordered = sorted(items, key=_first_to_run)
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    waits = [item for item in ordered if _waits(item)]
    computes = [item for item in ordered if not _waits(item)]
    hands = (_mixed(waits[hand::workers], computes[hand::workers]) for hand in range(workers))
    return [item for hand in hands for item in hand]


def _mixed(waits: list[pytest.Item], computes: list[pytest.Item]) -> list[pytest.Item]:
    """`waits` and `computes`, each in its order, `computes` spread evenly between
    `waits`: after each test that waits, an equal share of those that compute."""
    share = len(computes) / max(len(waits), 1)
    mixed: list[pytest.Item] = []
    for k, item in enumerate(waits):
        mixed.append(item)
        mixed.extend(computes[round(k * share) : round((k + 1) * share)])
    return mixed + computes[round(len(waits) * share) :]


#: Why a test marked needs_pure is skipped on the compiled build (setup.py, .ci/run-compiled):
#: mostly, it stands something in for part of a compiled module, which it refuses. A
#: compiled class takes no attribute it does not declare and no value of another type (a
#: fake, a replaced method), cannot be subclassed by a class of a test, and a compiled
#: function calls the functions of its module directly, past a monkeypatched name. The
#: tests marked so (each says which in a comment): spies on a method of the peer's core or
#: of its files, or of the registry's table feed; a replaced `Endpoint.send` (to see each
#: message sent, where no datagram could show it: before the sealing, merging and packing of
#: net/outgoing.py); a stand-in endpoint handed to the compiled key checks; a profiler
#: counting the Python calls of a message's walk (tests/test_walk.py), which compiled code
#: makes none of. The pure build, the reference, runs them all (.ci/run).
NEEDS_PURE = (
    "a stand-in for part of a compiled module, or a count of its Python calls: "
    "run on the pure build only"
)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """Collect with the garbage collector off, then freeze what collection made: the test
    modules, their items and the libraries they load live until the run ends. The cyclic
    collector traversed them all on every full collection, which was about half of each
    worker's collection CPU, and again in every full collection while the tests ran."""
    gc.disable()
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.enable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items[:] = _dealt(items)
    if build_name() == "compiled":
        for item in items:
            if "needs_pure" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=NEEDS_PURE))
    for marker, option in (("soak", "--run-soak"), ("netns", "--run-netns")):
        if config.getoption(option):
            continue
        skip = pytest.mark.skip(reason=f"opt-in: pass {option}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
