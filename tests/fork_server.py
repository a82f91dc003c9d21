"""Starts of the tests' Python processes, forked from an interpreter that has already
loaded the program: each is still a real process of its own (its own pid, pipes, signals,
exit status, reaped by the test as any child), running the program from its `__main__`,
without the 0.1-0.15 s of CPU a fresh interpreter spends loading it (the end-to-end tests
start some 450, on two cores).

How: each test worker starts, on its first such start, a fork server (this module run as
a program) with the worker's environment. The server imports every module of the program
and waits. For each start, the worker sends it the command, the environment and the
three standard streams' file descriptors. The server forks twice, and the process in
between exits at once: the new process, orphaned, becomes the worker's own child (the
worker is its descendants' "subreaper", Linux's PR_SET_CHILD_SUBREAPER), and waits until
it is. The worker's `subprocess.Popen` then waits for it, kills it and reads its exit
status as for any child. The new process takes the command's streams, environment and
arguments, in the repository, and runs the module, code or script as `python` would, from
the top of the interpreter: an exception or exit ends it as it ends a fresh one, but for
the freeing of every object at the very end (`_end`).

Only what a fresh interpreter would start in the same state is forked (`servable`): this
interpreter, `-m MODULE`, `-c CODE` or a script (with `-u` at most), from the repository,
with the same interpreter settings in the environment (its PYTHON* and locale variables)
as the server's; anything else (another option or directory) is started as usual. A start
on a pseudo-terminal (tests/forked_terminal.py, pexpect's `spawn`) is forked the same way,
the terminal its controlling one, in a session of its own. Unlike fresh ones, forked
processes share one hash seed (their server's), and a test of how the program loads (what
it imports, a Ctrl-C while it does) starts a fresh interpreter (subprocess.run).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import functools
import gc
import importlib
import io
import json
import os
import pkgutil
import runpy
import signal
import socket
import subprocess
import sys
import termios
import threading
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

#: The repository: the only working directory a forked process may have.
REPO = Path(__file__).resolve().parents[1]
#: The program's packages, loaded by each server (the modules a start would load).
PACKAGES = ("wire", "net", "secure", "disk", "terminal", "launcher", "peer", "registry")
#: Modules a start imports as it runs rather than as it loads, loaded by each server too
#: where installed: OpenSSL's backend (at the first key made or used, 9 ms of each start),
#: uvloop (the event loop, with the `fast` extra), a terminal's input, an address's IDNA
#: codec, the words of argparse's messages.
AS_IT_RUNS = (
    "cryptography.hazmat.backends.openssl.backend",
    "uvloop",
    "prompt_toolkit.patch_stdout",
    "prompt_toolkit.key_binding.bindings.search",
    "prompt_toolkit.input.vt100",
    "tty",
    "encodings.idna",
    "argparse",
    "gettext",
)
#: Environment variables a Python reads as it starts: a start whose values differ from a
#: server's is not forked from it.
_STARTUP_PREFIXES = ("PYTHON", "LC_")
_STARTUP_NAMES = ("LANG",)
#: Each request's and reply's most bytes (a command and its environment).
_MOST = 1 << 20
_PR_SET_CHILD_SUBREAPER = 36


# -- the worker's side ----------------------------------------------------------------------


class ServerGone(OSError):
    """The fork server ended (it could not load the program, say): starts are fresh."""


class _Server:
    """A fork server of this worker, for the starts of one interpreter setting."""

    def __init__(self, env: Mapping[str, str], flags: Sequence[str]) -> None:
        """`flags`: the interpreter's options of the starts it serves (-u), its own too."""
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, *flags, "-m", "tests.fork_server", str(theirs.fileno())],
                cwd=REPO,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
            )
        self._lock = threading.Lock()

    def start(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        streams: Sequence[int],
        terminal: bool = False,
    ) -> int:
        """Fork a process running `argv` (its interpreter's arguments after the first)
        with `env` and `streams` as its standard input, output and error: its pid. With
        `terminal`, its streams are a pseudo-terminal's, which becomes its controlling
        terminal, in a session of its own (as pexpect starts one)."""
        order = {"argv": list(argv), "env": dict(env), "terminal": terminal}
        request = json.dumps(order).encode()
        with self._lock:
            try:
                socket.send_fds(self._socket, [request], list(streams))
                reply = self._socket.recv(_MOST)
            except OSError as exc:
                raise ServerGone(str(exc)) from None
        if not reply:
            raise ServerGone("the fork server ended")
        if not reply.isdigit():
            raise OSError(f"the fork server could not start {argv!r}: {reply.decode()}")
        return int(reply)


#: This worker's servers by interpreter setting (`_setting`); None: its server ended.
_servers: dict[tuple[tuple[str, str], ...], _Server | None] = {}
_servers_lock = threading.Lock()


@functools.cache
def _reaping_orphans() -> bool:
    """Make this process (a test's, not a server) the reaper of its orphaned descendants,
    once: True if it is (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def interpreter_settings(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables of `env` a Python reads as it starts."""
    starts = _STARTUP_PREFIXES
    return {name: v for name, v in env.items() if name.startswith(starts) or name in _STARTUP_NAMES}


def _setting(argv: Sequence[str], env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """What of `argv` and `env` a Python reads as it starts (-u, as PYTHONUNBUFFERED=1)."""
    values = interpreter_settings(env)
    unbuffered = bool(values.pop("PYTHONUNBUFFERED", "")) or argv[1] == "-u"
    return (*sorted(values.items()), ("unbuffered", str(unbuffered)))


def servable(argv: Sequence[str], cwd: object = None, **options: Any) -> bool:
    """Whether `subprocess.Popen(argv, cwd=cwd, **options)` can be forked from a server:
    `python [-u] -m MODULE ...`, `-c CODE ...` or `SCRIPT.py ...`, in the repository, with
    nothing asked of the start but its streams, environment and text mode."""
    given = [str(word) for word in argv]
    words = given[2:] if given[1:2] == ["-u"] else given[1:]
    where = Path(os.getcwd() if cwd is None else str(cwd)).resolve()
    script = bool(words) and words[0].endswith(".py") and (where / words[0]).is_file()
    if given[0] != sys.executable or where != REPO:
        return False
    if not script and (len(words) < 2 or words[0] not in ("-m", "-c")):
        return False
    plain = {"stdin", "stdout", "stderr", "env", "text", "encoding", "errors", "bufsize"}
    if set(options) - plain or options.get("bufsize", -1) not in (-1, 0, 1):
        return False
    return _reaping_orphans()


class ForkedPopen(subprocess.Popen[str]):
    """A `subprocess.Popen` whose process `server` forks (`servable` says which may be)."""

    def __init__(self, server: _Server, argv: Sequence[str], **options: Any) -> None:
        self.server = server
        super().__init__(list(argv), cwd=REPO, **options)

    def _execute_child(
        self,
        args: Sequence[str],
        executable: object,
        preexec_fn: object,
        close_fds: bool,
        pass_fds: Sequence[int],
        cwd: object,
        env: Mapping[str, str] | None,
        startupinfo: object,
        creationflags: int,
        shell: bool,
        p2cread: int,
        p2cwrite: int,
        c2pread: int,
        c2pwrite: int,
        errread: int,
        errwrite: int,
        *rest: object,
    ) -> None:
        """Start the process: what `subprocess.Popen` asks of its own way of starting
        one (CPython's POSIX `_execute_child`): the pid, and the child's ends of the pipes
        closed here (-1: a stream it shares with this process)."""
        ends = [p2cread, c2pwrite, errwrite]
        streams = [end if end != -1 else own for end, own in zip(ends, (0, 1, 2), strict=True)]
        given = os.environ if env is None else env
        self.pid = self.server.start(list(args)[1:], given, streams)
        self._child_created = True
        self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)  # type: ignore[attr-defined]


def server_for(argv: Sequence[str], env: Mapping[str, str] | None) -> _Server | None:
    """This worker's fork server for `argv`'s interpreter setting under `env` (started at
    its first use); None once it ended."""
    given = os.environ if env is None else env
    setting = _setting(argv, given)
    with _servers_lock:
        if setting not in _servers:
            _servers[setting] = _Server(given, ["-u"] if argv[1] == "-u" else [])
        return _servers[setting]


def gone(argv: Sequence[str], env: Mapping[str, str] | None) -> None:
    """The server for `argv` under `env` ended: its starts are fresh from now on."""
    _servers[_setting(argv, os.environ if env is None else env)] = None


def popen(argv: Sequence[str], **options: Any) -> subprocess.Popen[str]:
    """`subprocess.Popen(argv, **options)`, forked from a server where it can be."""
    cwd = options.pop("cwd", None)
    if servable(argv, cwd, **options):
        server = server_for(argv, options.get("env"))
        if server is not None:
            try:
                return ForkedPopen(server, argv, **options)
            except ServerGone:
                gone(argv, options.get("env"))
    return subprocess.Popen(list(argv), cwd=cwd, **options)


# -- the server's side ----------------------------------------------------------------------


def _load_the_program() -> None:
    """Import every module of the program's packages, as starts of its modes would, and
    what they import as they run."""
    import ChatApp  # noqa: F401  (its launcher, and what the launcher imports)

    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(module.name)
    for name in AS_IT_RUNS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _serve(control: socket.socket) -> dict[str, Any] | None:
    """Serve starts until the worker closes `control`: None here; in each forked process,
    its request (with its streams in place)."""
    while True:
        try:
            request, fds, _, _ = socket.recv_fds(control, _MOST, 3)
        except OSError:
            return None
        if not request:
            return None
        asked = dict(json.loads(request))
        started = _fork(control, fds, bool(asked.get("terminal")))
        if started is None:  # the new process
            return asked
        with contextlib.suppress(OSError):
            control.send(started)


def _fork(control: socket.socket, fds: list[int], terminal: bool) -> bytes | None:
    """Fork a process for `fds` (a terminal's, its controlling one, if `terminal`), twice:
    None in the new process, once it is the worker's child; here, its pid (or why not, in
    words)."""
    said, say = os.pipe()  # the pid, from the process in between
    held, hold = os.pipe()  # the new process waits for its end: it is the worker's then
    try:
        between = os.fork()
    except OSError as exc:
        for fd in (said, say, held, hold):
            os.close(fd)
        return str(exc).encode()
    if between == 0:  # in between: fork the process, say its pid, and leave
        try:
            pid = os.fork()
        except OSError:
            os._exit(1)  # (the server is told nothing: "the fork failed")
        if pid == 0:
            for fd in (said, say, hold):
                os.close(fd)
            os.read(held, 1)
            os.close(held)
            control.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            for fd in set(fds) - {0, 1, 2}:
                os.close(fd)
            if terminal:
                os.setsid()
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            return None
        os.write(say, str(pid).encode())
        os._exit(0)
    for fd in (say, held, *fds):
        os.close(fd)
    with os.fdopen(said, "rb") as told:
        pid_text = told.read()
    os.waitpid(between, 0)  # once it is reaped, its child is the worker's
    os.close(hold)
    return pid_text or b"the fork failed"


def _become(request: dict[str, Any]) -> tuple[str, str]:
    """Take the request's environment and arguments as a fresh `python` given them
    would: what to run ("-m", "-c" or a script's path) and the module, code or path."""
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(REPO)
    argv: list[str] = request["argv"]
    words = argv[1:] if argv[0] == "-u" else argv
    sys.orig_argv = [sys.executable, *argv]
    sys.modules["__main__"] = types.ModuleType("__main__")
    if words[0] in ("-m", "-c"):
        sys.argv = [words[0], *words[2:]]
        sys.path[0] = str(REPO) if words[0] == "-m" else ""
        return words[0], words[1]
    sys.argv = words
    sys.path[0] = str(Path(words[0]).resolve().parent)
    return "script", words[0]


def _standard_streams() -> None:
    """Make sys.stdin, stdout and stderr again on the new process's file descriptors, as
    Python makes them as it starts (its C `create_stdio`), with the server's settings
    (those of the environment both share): a stream's seeking and line buffering depend
    on what its descriptor is (a pipe, a file, a terminal)."""
    buffered = not cast(io.TextIOWrapper, sys.stdout).write_through  # not -u nor PYTHONUNBUFFERED
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        old, write = getattr(sys, name), fd > 0
        mode, buffering = ("wb", -1 if buffered else 0) if write else ("rb", -1)
        binary = open(fd, mode, buffering, closefd=False)  # noqa: SIM115  (the new sys.stdin...)
        raw = binary.raw if isinstance(binary, io.BufferedIOBase) else binary  # type: ignore[attr-defined]
        raw.name = f"<{name}>"  # type: ignore[misc]
        lines = buffered and (raw.isatty() or fd == 2)
        stream = io.TextIOWrapper(binary, old.encoding, old.errors, "\n", lines, not buffered)
        stream.mode = "w" if write else "r"  # type: ignore[misc]
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _without_the_servers_frames(
    kind: type[BaseException], value: BaseException, trace: types.TracebackType | None
) -> None:
    """Say an exception the program left uncaught as a fresh interpreter says it: without
    the frames of the server it was forked in, below the program's own."""
    program, frame = trace, trace
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == __file__:
            program = frame.tb_next
        frame = frame.tb_next
    sys.__excepthook__(kind, value.with_traceback(program), program)


def _main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        _load_the_program()
    except Exception as exc:  # the worker's starts are then fresh, and say why
        sys.exit(f"fork server: the program could not be loaded ({exc!r})")
    gc.collect()
    gc.freeze()  # what is loaded stays shared with the forked processes, not copied
    request = _serve(control)
    if request is None:
        return
    how, what = _become(request)
    _standard_streams()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.excepthook = _without_the_servers_frames
    try:
        _run(how, what, sys.modules["__main__"].__dict__)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            _end(exc.code or 0)
        raise
    _end(0)


def _run(how: str, what: str, main: dict[str, Any]) -> None:
    """Run the module, code or script `what` as `python` runs it (`how`)."""
    if how == "-m":
        runpy._run_module_as_main(what)  # type: ignore[attr-defined]  # what `python -m` runs
    elif how == "-c":
        exec(compile(what, "<string>", "exec"), main)
    else:
        main.update(__file__=what, __cached__=None)
        exec(compile(Path(what).read_bytes(), what, "exec"), main)


def _end(status: int) -> None:
    """End with `status` as the interpreter ends a program that returned or exited: its
    threads awaited, its atexit functions run, its garbage collected, its standard streams
    flushed; but not its last step, freeing every object left, which in a forked process
    writes to every page of the server's program it shares (20 ms and 5,000 pages of each
    process, a third of the suite's starts). A flush that fails is left to the
    interpreter's own end, which says so and exits 120. An exception or an exit with a
    message ends as in a fresh interpreter."""
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    gc.collect()  # what the process made (the server's objects are frozen)
    streams = [sys.stdout, sys.stderr]
    try:
        for stream in streams:
            if stream is not None and not stream.closed:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(status)
    os._exit(status)


if __name__ == "__main__":
    _main()
