"""Shared pieces of the benchmarks: event loops, tables, statistics, helper processes.

Every benchmark talks to 127.0.0.1 only, sends a bounded number of datagrams, and stops by
itself: helper processes exit when their parent closes their stdin or after `MAX_LIFE`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
#: Seconds a helper process lives at most, whatever its parent does.
MAX_LIFE = 600.0

T = TypeVar("T")


#: The environment variable that marks a run's scratch folder (see `scratch_folder`).
SCRATCH_ENV = "CHATAPP_BENCH_SCRATCH"


def scratch_folder() -> Path:
    """One folder for every temporary file and folder of this run, removed when it exits.

    The registries, peers and data directories a benchmark makes go under it (tempfile's
    default folder, and TMPDIR for the processes it starts), so that a run leaves nothing
    in /tmp, even when a helper process is killed. A benchmark started by another (run_all)
    uses its parent's folder."""
    given = os.environ.get(SCRATCH_ENV)
    if given and Path(given).is_dir():
        return Path(given)
    folder = Path(tempfile.mkdtemp(prefix="chatapp-bench-"))
    os.environ[SCRATCH_ENV] = os.environ["TMPDIR"] = tempfile.tempdir = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def keep_logs(logs: list[Path], what: str) -> Path | None:
    """Copy `logs` out of the run's scratch folder (removed at exit) into a folder of their
    own beside it, and say where: the logs of a run that failed, to read after it. None
    when there are none."""
    logs = [log for log in logs if log.is_file()]
    if not logs:
        return None
    scratch = Path(os.environ.get(SCRATCH_ENV) or tempfile.gettempdir())
    kept = Path(tempfile.mkdtemp(prefix=f"{scratch.name}-kept-", dir=scratch.parent))
    for log in logs:
        shutil.copy2(log, kept / log.name)
    print(f"{what}: its logs are kept in {kept}", file=sys.stderr)
    return kept


# -- event loops ---------------------------------------------------------------------------


def have_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def loops_to_run(choice: str) -> list[str]:
    """`asyncio`, `uvloop` or `both` (uvloop only when it is installed)."""
    if choice == "both":
        return ["asyncio", "uvloop"] if have_uvloop() else ["asyncio"]
    if choice == "uvloop" and not have_uvloop():
        print("uvloop is not installed (pip install uvloop); using asyncio", file=sys.stderr)
        return ["asyncio"]
    return [choice]


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_cancellations)
    return loop


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # At the end of a benchmark the loop cancels the TCP connection handlers still open;
    # asyncio's streams then report each cancellation. Anything else is reported as usual.
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]], loop: str = "asyncio") -> T:
    """Run `coro_fn()` on a fresh loop of the kind asked for, after collecting what the
    previous measurement left (hundreds of closed peers would otherwise be traversed by the
    collector during this one)."""
    gc.collect()
    with asyncio.Runner(loop_factory=lambda: new_loop(loop)) as runner:
        return runner.run(coro_fn())


def pin_to_cpu(pid: int, cpu: int) -> None:
    """Keep process `pid` (0: this one) on one CPU, where the system allows it and has it."""
    with contextlib.suppress(AttributeError, OSError):
        if cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(pid, {cpu})


@contextlib.contextmanager
def pinned(cpu: int) -> Iterator[None]:
    """This process on one CPU for the duration, then on the CPUs it had before."""
    try:
        before = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        yield
        return
    pin_to_cpu(0, cpu)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, before)


#: The cgroup v1 cpu controller: a group per server process caps its CPU (`budgets`).
CGROUP_CPU = Path("/sys/fs/cgroup/cpu")
#: The period of a budget, in microseconds: a budgeted process runs `share` of each.
PERIOD_US = 10_000
#: The share of one CPU each server process gets within `budgets` (0: no budget).
_budget = {"share": 0.0}


def budget_unavailable() -> str:
    """Why server processes cannot get CPU budgets here, or "" when they can."""
    if not (CGROUP_CPU / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {CGROUP_CPU}"
    if not os.access(CGROUP_CPU, os.W_OK):
        return f"{CGROUP_CPU} is not writable (not root)"
    return ""


@contextlib.contextmanager
def budgets(share: float) -> Iterator[None]:
    """Within, every process given to `budgeted` may use `share` of one CPU at most, as on
    a machine of that size; its group is removed at the end."""
    _budget["share"] = share
    try:
        yield
    finally:
        _budget["share"] = 0.0
        for group in CGROUP_CPU.glob(f"chatapp-bench-{os.getpid()}-*"):
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):  # (ended meanwhile)
                    (CGROUP_CPU / "cgroup.procs").write_text(pid)
            group.rmdir()


def budgeted(pid: int) -> None:
    """Put process `pid` (all its threads) in a cgroup of its own with the budget of the
    `budgets` around, if any. Its weight is high, so that it gets its budget before the
    unbudgeted processes on its CPU."""
    share = _budget["share"]
    if not share:
        return
    group = CGROUP_CPU / f"chatapp-bench-{os.getpid()}-{pid}"
    group.mkdir()
    # (a short period: the process runs slower, not in bursts with stops between)
    (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (group / "cpu.cfs_quota_us").write_text(str(round(share * PERIOD_US)))
    (group / "cpu.shares").write_text("8192")
    (group / "cgroup.procs").write_text(str(pid))


def idle_wait(
    cpuidle: Path = Path("/sys/devices/system/cpu/cpuidle/current_driver"),
    polling: Path = Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns"),
) -> str:
    """How this machine's idle CPUs wait for work (Linux cpuidle), as a table note says it.
    In a virtual machine a CPU that halts costs tens of µs to wake, so guest halt polling
    (the haltpoll driver) sets the floor of every round trip: on the 2-core machine a raw UDP
    round trip read 25-39 µs with polling up to 200 µs, and 91-152 µs with none."""
    try:
        driver = cpuidle.read_text().strip()
    except OSError:
        return "idle CPUs: not known"
    if driver != "haltpoll":
        return f"idle CPUs: {driver}"
    try:
        ns = int(polling.read_text())
    except (OSError, ValueError):
        return "idle CPUs: haltpoll"
    if not ns:
        return "idle CPUs: haltpoll, halting at once"
    return f"idle CPUs: haltpoll, polling up to {ns / 1000:g} µs"


#: glibc's mallopt parameters, and its defaults (the static ones: setting either also stops
#: glibc from moving the mmap threshold by itself, which is what makes runs differ).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT = 128 * 1024


@contextlib.contextmanager
def steady_heap() -> Iterator[None]:
    """For the duration, glibc keeps buffers up to 4 MiB in its heap (as HEAP_ENV does for a
    child process). asyncio's stream and datagram transports read into a fresh 256 KiB
    buffer; with glibc's defaults that buffer is mapped and unmapped around every read until
    glibc happens to raise its threshold, so the same clients ran at one of two speeds, 2.5 times
    apart, depending on what the process had done before. A no-op without glibc."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (ImportError, OSError, AttributeError):
        yield
        return
    mallopt(_M_MMAP_THRESHOLD, 4 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    try:
        yield
    finally:
        mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT)
        mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT)


# -- numbers and tables --------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def rate(per_second: float) -> str:
    if per_second != per_second:  # nan
        return "n/a"
    if per_second >= 1e6:
        return f"{per_second / 1e6:,.2f}M/s"
    if per_second >= 1e3:
        return f"{per_second / 1e3:,.1f}k/s"
    return f"{per_second:,.0f}/s"


def ratio(ours: float, anchor: float, *, higher_is_better: bool = False) -> str:
    """`ours / anchor` as "1.23x"; for throughputs (higher is better) it is still ours/anchor."""
    if not anchor or anchor != anchor or ours != ours:
        return "n/a"
    return f"{ours / anchor:.2f}x"


class Table:
    """A markdown table, printed when complete; every table is also kept for run_all."""

    printed: ClassVar[list[str]] = []

    def __init__(self, title: str, columns: Sequence[str]) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows: list[list[str]] = []
        self.notes: list[str] = []

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))

        def line(cells: Iterable[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"

        out = [f"### {self.title}{_build_suffix()}", "", line(self.columns)]
        out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        out.extend(line(row) for row in self.rows)
        out.extend(f"  {n}" for n in self.notes)
        return "\n".join(out) + "\n"

    def print(self) -> None:
        text = self.render()
        Table.printed.append(text)
        print(text, flush=True)


def _build_suffix() -> str:
    """What a table's title says of the build that measured it: nothing for the pure one."""
    from wire.version import build_name  # here: bench.common stays light to import

    return "" if build_name() == "pure" else f" [{build_name()} build]"


# -- sockets -------------------------------------------------------------------------------


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (as a ChatApp node needs), below the
    kernel's ephemeral range (tests/e2e/ports.py): there no socket bound to port 0 (a
    crowd's peers, a client's connection) takes it before the server it is for listens."""
    from tests.e2e.ports import free_port as below_ephemeral  # (bench.common stays light)

    return below_ephemeral(HOST)


def udp_drops(port: int) -> int | None:
    """Datagrams the kernel dropped on the UDP socket bound to `port` (from /proc/net/udp)."""
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        local = fields[1]
        if int(local.split(":")[1], 16) == port:
            return int(fields[-1])
    return None


def raise_fd_limit(wanted: int = 8192) -> None:
    with contextlib.suppress(ValueError, OSError, ImportError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


# -- helper processes ----------------------------------------------------------------------


class Helper:
    """A `python -m bench.procs ...` child: it prints one JSON line when ready, answers one
    JSON line per command line written to its stdin, and exits when stdin closes. It runs
    the code of the checkout at `root` (another worktree, for a same-run A/B)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, root: Path = ROOT) -> None:
        cmd = [sys.executable, "-m", "bench.procs", *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            env={**os.environ, **(env or {}), "PYTHONPATH": str(root)},
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"helper {self.proc.args!r} ended without answering")
        result: dict[str, Any] = json.loads(line)
        return result

    def ask(self, command: str) -> dict[str, Any]:
        self.tell(command)
        return self._read()

    def tell(self, command: str) -> None:
        """Write `command` and return at once: its answer is read by `answer` (a measure
        of this process's CPU can then end before it is read)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    async def answer(self) -> dict[str, Any]:
        """The answer to the command last told."""
        return await asyncio.get_running_loop().run_in_executor(None, self._read)

    async def ask_async(self, command: str) -> dict[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(None, self.ask, command)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def elapsed_since(start: float) -> float:
    return time.perf_counter() - start
