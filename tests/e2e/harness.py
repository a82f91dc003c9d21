"""End-to-end harness: real ChatApp processes driven line by line through pipes.

A `ChatProc` is one child process. A reader thread pushes every output line into a queue;
the test consumes them in order with `expect` (or `expect_all` when the order between some
lines is not part of the contract). Every line consumed is kept in `transcript`, so that a
failure shows what the process really said. Every wait has a timeout; nothing sleeps.

`ChatEnv` starts registries and peers the way docs/GUIDE.md and the
command-line contract say, in a fresh data directory, and kills every process it started
when the test ends (the `chat` fixture in conftest.py does that even when a test fails).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path

from secure.keys import PINS_FILE

from .ports import free_port as free_port  # (tests take it from the harness)

#: The repository root: the working directory of every ChatApp process.
REPO = Path(__file__).resolve().parents[2]
#: The launcher under test.
CHATAPP = REPO / "ChatApp.py"
#: How the tests start it: as a module, run from its cached bytecode as the installed
#: `ChatApp` command runs it (a script named by its path is compiled afresh at every start,
#: a few ms of each of the suite's hundreds of processes).
CHATAPP_COMMAND = (sys.executable, "-m", "ChatApp")

# The hostile tests build datagrams with the project's own `wire` package.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: Default seconds `expect` waits for a line.
DEFAULT_TIMEOUT = 10.0
#: How many lines of output a failure message shows.
TAIL = 40
#: Seconds between keepalives and outbox retries given to every test peer, and the
#: period by which the test registries judge them (see `ChatEnv.start_registry`).
KEEPALIVE = 0.5
#: A timestamp in a mailbox line: YYYY-MM-DD HH:MM:SS.
STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
#: The address everything binds to and talks to: loopback only.
HOST = "127.0.0.1"

_EOF = object()  # the reader thread's last item: the child closed its output

# -- the exact console lines (docs/GUIDE.md) ----------------------------------------

WELCOME = "[Welcome, You are registered.]"
TABLE_UPDATED = "[Client table updated.]"
SAVED = "[Messages received by the server and saved]"
#: SAVED, or the line that says the same of a message that waited in the outbox
SAVED_EVEN_IF_KEPT = (
    r"^>>> \[(Messages received by the server and saved"
    r"|Kept message for \S+ saved at the server: “.*”)\]$"
)

#: RECEIVED_BY_SERVER, or the line that says the same of a post that waited in the outbox
POSTED_EVEN_IF_KEPT = (
    r"^>>> \[(Message received by Server\.|Kept message received by Server: “.*”)\]$"
)


def kept_saved(to: str, text: str) -> str:
    """The line that confirms that a message to `to` kept in the outbox is saved."""
    return f"[Kept message for {to} saved at the server: “{text}”]"


YOU_HAVE_MESSAGES = "[You have messages]"
OFFLINE_BYE = "[You are Offline. Bye.]"
SERVER_NOT_RESPONDING = "[Server not responding]"
EXITING = "[Exiting]"
RECEIVED_BY_SERVER = "[Message received by Server.]"


def received_by(name: str) -> str:
    return f"[Message received by {name}.]"


def no_ack(name: str) -> str:
    return f"[No ACK from {name}, message sent to server.]"


def client_exists(name: str) -> str:
    return f"[Client {name} exists!!]"


def line(text: str) -> str:
    """A regex matching exactly the peer output line `>>> <text>`."""
    return rf"^>>> {re.escape(text)}$"


def chat_line(sender: str, text: str) -> str:
    """Regex: a direct message arriving live, `>>> <sender>: <text>`."""
    return line(f"{sender}: {text}")


def channel_line(sender: str, text: str) -> str:
    """Regex: a channel message arriving live, `>>> [Channel_Message <sender>: <text>]`."""
    return line(f"[Channel_Message {sender}: {text}]")


def mail_line(sender: str, text: str) -> str:
    """Regex: a stored direct message handed over at reg; group 1 is the timestamp."""
    return rf"^>>> {re.escape(sender)}: ({STAMP}) {re.escape(text)}$"


def channel_mail_line(sender: str, text: str) -> str:
    """Regex: a stored channel message handed over at reg; group 1 is the timestamp."""
    return rf"^>>> Channel_Message {re.escape(sender)}: ({STAMP}) {re.escape(text)}$"


# -- one process ----------------------------------------------------------------------------


def child_env(extra: dict[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """The environment of a child: unbuffered, no colour, UTF-8, per-test XDG directories."""
    env = dict(os.environ)
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1", PYTHONIOENCODING="utf-8")
    env.pop("PYTHONSTARTUP", None)
    if home is not None:
        # Anything that ignores --data-dir lands in the test's directory, not the user's.
        for var, sub in (
            ("XDG_DATA_HOME", "xdg-data"),
            ("XDG_STATE_HOME", "xdg-state"),
            ("XDG_CONFIG_HOME", "xdg-config"),
            ("XDG_CACHE_HOME", "xdg-cache"),
        ):
            env[var] = str(home / sub)
    if extra:
        env.update(extra)
    return env


_live: weakref.WeakSet[ChatProc] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:  # a last resort if a test run is interrupted
    for proc in list(_live):
        proc.cleanup()


class ChatProc:
    """One child process with its output read line by line.

    The test consumes output with `expect`, which reads lines in order and skips the ones
    that do not match; every consumed line goes into `transcript`.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        label: str,
        cwd: Path = REPO,
        env: dict[str, str] | None = None,
    ) -> None:
        self.label = label
        self.argv = [str(a) for a in argv]
        #: Every line consumed so far (by expect, expect_all, expect_not, drain, collect).
        self.transcript: list[str] = []
        self._lines: queue.Queue[object] = queue.Queue()
        self._eof = False
        self._started = time.monotonic()
        self.popen = subprocess.Popen(
            self.argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env if env is not None else child_env(),
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        _live.add(self)
        self._reader = threading.Thread(target=self._read, name=f"reader-{label}", daemon=True)
        self._reader.start()

    def __repr__(self) -> str:
        return f"<ChatProc {self.label} pid={self.pid} {self._state()}>"

    # -- reading --

    def _read(self) -> None:
        stdout = self.popen.stdout
        assert stdout is not None
        try:
            for raw in stdout:
                self._lines.put(raw.rstrip("\r\n"))
        except (OSError, ValueError):  # the pipe was closed under us during cleanup
            pass
        finally:
            self._lines.put(_EOF)

    def _next(self, deadline: float) -> str | object | None:
        """The next line, _EOF when the output has ended, or None when the deadline passed."""
        if self._eof:
            return _EOF
        try:
            remaining = deadline - time.monotonic()
            item = self._lines.get(timeout=remaining) if remaining > 0 else self._lines.get_nowait()
        except queue.Empty:
            return None
        if item is _EOF:
            self._eof = True
            return _EOF
        assert isinstance(item, str)
        self.transcript.append(item)
        return item

    def expect(
        self, pattern: str | re.Pattern[str], timeout: float = DEFAULT_TIMEOUT
    ) -> re.Match[str]:
        """Consume lines in order until one matches `pattern` (re.search); return the match.

        Raise AssertionError with the regex and the last lines of output on timeout, or as
        soon as the process has closed its output without printing a matching line.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            item = self._next(deadline)
            if item is None:
                self._fail(f"no line matching {regex.pattern!r} within {timeout:g} s")
            if item is _EOF:
                self._fail(f"output ended before a line matching {regex.pattern!r}")
            assert isinstance(item, str)
            match = regex.search(item)
            if match:
                return match

    def expect_line(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> re.Match[str]:
        """Expect exactly the line `>>> <text>`."""
        return self.expect(line(text), timeout)

    def expect_all(
        self, patterns: Iterable[str | re.Pattern[str]], timeout: float = DEFAULT_TIMEOUT
    ) -> list[re.Match[str]]:
        """Consume lines until every pattern has matched a line, in any order.

        Each line satisfies at most one pattern (the first still waiting that matches).
        Return the matches in the order of `patterns`.
        """
        regexes = [re.compile(p) for p in patterns]
        found: list[re.Match[str] | None] = [None] * len(regexes)
        deadline = time.monotonic() + timeout
        while any(m is None for m in found):
            item = self._next(deadline)
            missing = [r.pattern for r, m in zip(regexes, found, strict=True) if m is None]
            if item is None:
                self._fail(f"no lines matching {missing!r} within {timeout:g} s")
            if item is _EOF:
                self._fail(f"output ended before lines matching {missing!r}")
            assert isinstance(item, str)
            for i, regex in enumerate(regexes):
                if found[i] is None and (match := regex.search(item)):
                    found[i] = match
                    break
        return [m for m in found if m is not None]

    def expect_not(self, pattern: str | re.Pattern[str], within: float) -> None:
        """Consume lines for `within` seconds; fail if one matches. Use only where no
        positive evidence is possible: it always takes the whole `within`, or less if the
        output ends."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + within
        while True:
            item = self._next(deadline)
            if item is None or item is _EOF:
                return
            assert isinstance(item, str)
            if regex.search(item):
                self._fail(f"unexpected line matching {regex.pattern!r}: {item!r}")

    def drain(self) -> list[str]:
        """Consume, without waiting, the lines already read; return them."""
        got: list[str] = []
        while True:
            item = self._next(time.monotonic())
            if item is None or item is _EOF:
                return got
            assert isinstance(item, str)
            got.append(item)

    def collect(self, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """Consume lines until the output ends; return the whole transcript."""
        deadline = time.monotonic() + timeout
        while True:
            item = self._next(deadline)
            if item is None:
                self._fail(f"output did not end within {timeout:g} s")
            if item is _EOF:
                return list(self.transcript)

    def count(self, pattern: str | re.Pattern[str]) -> int:
        """How many consumed lines match `pattern`."""
        regex = re.compile(pattern)
        return sum(1 for item in self.transcript if regex.search(item))

    # -- writing and process control --

    def send(self, text: str) -> None:
        """Write one line to the process's standard input."""
        stdin = self.popen.stdin
        if stdin is None or stdin.closed:
            self._fail(f"cannot send {text!r}: standard input is closed")
        assert stdin is not None
        try:
            stdin.write(text + "\n")
            stdin.flush()
        except OSError as exc:  # BrokenPipeError: the process is gone
            self._fail(f"cannot send {text!r}: {exc}")

    def close_stdin(self) -> None:
        """End of input (what the peer treats as quit)."""
        stdin = self.popen.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()

    def kill(self) -> int:
        """SIGKILL the process and reap it; return its exit status."""
        if self.popen.poll() is None:
            self.popen.kill()
        return self.popen.wait(timeout=DEFAULT_TIMEOUT)

    def terminate(self) -> None:
        """SIGTERM the process (does not wait)."""
        if self.popen.poll() is None:
            self.popen.terminate()

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Wait for the process to exit; return its exit status (negative: killed by a signal)."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.drain()
            self._fail(f"did not exit within {timeout:g} s")
        raise AssertionError("unreachable")

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def cleanup(self) -> None:
        """Kill the process if it still runs, reap it, stop the reader, close the pipes."""
        if self.popen.poll() is None:
            with contextlib.suppress(OSError):
                self.popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=DEFAULT_TIMEOUT)
        self.close_stdin()
        self._reader.join(timeout=5)
        if self.popen.stdout is not None and not self._reader.is_alive():
            self.popen.stdout.close()
        _live.discard(self)

    # -- reporting --

    def _state(self) -> str:
        code = self.popen.poll()
        if code is None:
            return "running"
        return f"exited with status {code}"

    def tail(self, n: int = TAIL) -> str:
        lines = self.transcript[-n:]
        skipped = len(self.transcript) - len(lines)
        head = f"    ... {skipped} earlier lines\n" if skipped else ""
        return head + "\n".join(f"    | {item}" for item in lines) if lines else "    (no output)"

    def report(self) -> str:
        """Everything this process printed (what was not consumed yet is drained first)."""
        if not self._eof:
            self.drain()
        body = "\n".join(f"    | {item}" for item in self.transcript) or "    (no output)"
        return f"--- {self.label} (pid {self.pid}, {self._state()}): {' '.join(self.argv)}\n{body}"

    def _fail(self, what: str) -> None:
        if self._eof and self.popen.poll() is None:
            # The output ended: give the exit status a moment to be known.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=2)
        elapsed = time.monotonic() - self._started
        raise AssertionError(
            f"{self.label}: {what} ({self._state()}, {elapsed:.1f} s after start).\n"
            f"Last {TAIL} lines of {self.label}:\n{self.tail()}"
        )


# -- a test's processes ---------------------------------------------------------------------


class ChatEnv:
    """The processes of one test, their data directories, and the registry's port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.registry_dir = root / "registry"
        self.peer_dir = root / "peers"
        for d in (self.registry_dir, self.peer_dir):  # as ChatApp makes them: its user's
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Anything started without --data-dir keeps its state here, not in the user's.
        self.env = child_env({"CHATAPP_DATA_DIR": str(root / "default")}, home=root)
        self.registry_port: int | None = None
        #: The last registry started's join code (the digits its --registry-key takes).
        self.join_code = ""
        self.procs: list[ChatProc] = []
        # Put in front of every ChatApp command, e.g. ["ip", "netns", "exec", NAME].
        self.prefix: list[str] = []
        #: Added to every peer's name, on a registry shared with other tests (see
        #: tests/e2e/shared_registry.py): "" on a registry of the test's own.
        self.suffix = ""

    def named(self, name: str) -> str:
        """The name a peer started as `name` registers: with this test's suffix."""
        return name if name.endswith(self.suffix) else name + self.suffix

    def spawn_argv(self, argv: Sequence[str], label: str) -> ChatProc:
        """Start any command (the harness's own tests use a fake child)."""
        proc = ChatProc(argv, label=label, env=self.env)
        self.procs.append(proc)
        return proc

    def spawn(self, *args: str, label: str = "chatapp") -> ChatProc:
        """Start `ChatApp <args>`."""
        return self.spawn_argv([*self.prefix, *CHATAPP_COMMAND, *args], label)

    def start_registry(
        self,
        port: int | None = None,
        data_dir: Path | None = None,
        timeout: float = 10.0,
        options: Sequence[str] = (),
    ) -> ChatProc:
        """Start a registry (on the env's port by default, so a restart reuses it), with
        more command-line `options`, and wait until it says both sockets are bound. Its
        keepalive period is the test peers' (KEEPALIVE) unless `options` give one: a
        registry on the default 10 s would take a killed peer for online for 30 s, and
        give peers 50 s after a restart, and no test would see either rule at work."""
        if self.suffix:
            raise RuntimeError("a test on the shared registry starts none: use `chat`")
        if port is None:
            port = self.registry_port if self.registry_port is not None else free_port()
        self.registry_port = port
        period = () if "--keepalive" in options else ("--keepalive", f"{KEEPALIVE:g}")
        proc = self.spawn(
            "-s", str(port), "--bind", HOST, "--data-dir", str(data_dir or self.registry_dir),
            *period, *options, label=f"registry:{port}",
        )  # fmt: skip
        proc.expect(rf"listening on {re.escape(HOST)}:{port}\b", timeout)
        self.join_code = proc.expect(r"--registry-key ([\d-]+)", timeout).group(1)
        return proc

    def trusting(self) -> list[str]:
        """The options that make a client trust the registry's key alone (its join code):
        what a script sending a password or operator key needs at first contact."""
        return ["--registry-key", self.join_code]

    def refused_registry(self, label: str = "registry") -> list[str]:
        """Start a registry on the env's data directory that must refuse to start (exit 1
        at once, with nothing read from its console); what it printed."""
        proc = self.spawn(
            "-s", str(free_port()), "--bind", HOST, "--data-dir", str(self.registry_dir),
            "--no-desk-console", label=label,
        )  # fmt: skip
        proc.close_stdin()
        assert proc.wait_exit(10) == 1
        return proc.collect(5)

    def start_peer(
        self,
        name: str,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        server_port: int | None = None,
        keepalive: float = KEEPALIVE,
        wait: bool = True,
        timeout: float = 10.0,
        password: str = "",
        options: Sequence[str] = (),
    ) -> Peer:
        """Start peer `name` (with `password`, given as its first line of input, and more
        command-line `options`); unless `wait` is false, wait for Welcome and the table line.
        Its first contact (or any with a password) gives the registry's join code, unless
        `options` say how to trust its key."""
        name = self.named(name)
        server = server_port if server_port is not None else self.registry_port
        if server is None:
            raise RuntimeError("start the registry first, or pass server_port")
        port = port if port is not None else free_port()
        data = data_dir if data_dir is not None else self.peer_dir
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        argv = [
            *self.prefix, *CHATAPP_COMMAND, "-c", name, HOST, str(server), str(port),
            "--data-dir", str(data), "--keepalive", f"{keepalive:g}", *options,
        ]  # fmt: skip
        if password:
            argv.append("--password")
        trust_said = "--registry-key" in options or "--trust-first-key" in options
        if not trust_said and (password or not (data / PINS_FILE).exists()):
            # first contact by the join code, as the docs advise: no settling time to wait
            argv.extend(self.trusting())
        peer = Peer(argv, name=name, port=port, data_dir=data, env=self.env)
        self.procs.append(peer)
        if password:
            peer.send(password)
        if wait:
            peer.expect_line(WELCOME, timeout)
            peer.expect_line(TABLE_UPDATED, timeout)
        return peer

    def start_peers(self, *names: str) -> list[Peer]:
        """Start peers one after the other; after each, wait until every earlier peer has
        printed the table change, so every peer knows every other one when this returns."""
        peers: list[Peer] = []
        for name in names:
            for earlier in peers:
                earlier.drain()
            new = self.start_peer(name)
            for earlier in peers:
                earlier.expect_line(TABLE_UPDATED)
            peers.append(new)
        return peers

    def restart_peer(self, old: Peer, *, wait: bool = True) -> Peer:
        """Start a peer again with the same name, client port and data directory."""
        return self.start_peer(old.name, port=old.port, data_dir=old.data_dir, wait=wait)

    def transcripts(self) -> str:
        return "\n".join(proc.report() for proc in self.procs)

    def close(self) -> None:
        for proc in self.procs:
            proc.cleanup()


class Peer(ChatProc):
    """A peer process, with the name, client port and data directory it was started with."""

    def __init__(
        self, argv: Sequence[str], *, name: str, port: int, data_dir: Path, env: dict[str, str]
    ) -> None:
        super().__init__(argv, label=f"peer {name}", env=env)
        self.name = name
        self.port = port
        self.data_dir = data_dir


def reaches(sender: Peer, receiver: Peer, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """`send <receiver> <text>` from sender to a receiver that has just come online: the
    receiver shows it, and the sender says it was received, directly, or, when its table
    did not have the receiver online yet, by the registry, which found the receiver alive
    and delivered it itself (`[Client <name> exists!!]`, docs/PROTOCOL.md)."""
    sender.send(f"send {receiver.name} {text}")
    receiver.expect(chat_line(sender.name, text), timeout)
    either = f"{line(received_by(receiver.name))}|{line(client_exists(receiver.name))}"
    sender.expect(either, timeout)


def direct(sender: Peer, receiver: Peer, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """`send <receiver> <text>` from sender; both sides must show it (self-send included).
    A receiver started a moment ago may not be in the sender's table yet (its Welcome can
    come before the registry's push to the sender): then sent again once it is."""
    sender.send(f"send {receiver.name} {text}")
    if sender is receiver:
        sender.expect_all([chat_line(sender.name, text), line(received_by(sender.name))], timeout)
        return
    unknown = rf"^>>> \[No user named {re.escape(receiver.name)}\."
    said = sender.expect(f"{line(received_by(receiver.name))}|{unknown}", timeout)
    if "No user named" in said.string:
        sender.expect_line(f"[{receiver.name} is online]", timeout)
        sender.send(f"send {receiver.name} {text}")
        sender.expect_line(received_by(receiver.name), timeout)
    receiver.expect(chat_line(sender.name, text), timeout)
