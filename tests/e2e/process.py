"""Real ChatApp processes, driven line by line through pipes (tests/e2e/harness.py starts
them as a test's registries and peers).

A `ChatProc` is one child process. A reader thread pushes every output line into a queue;
the test consumes them in order with `expect` (or `expect_all` when the order between some
lines is not part of the contract). Every line consumed is kept in `transcript`, so that a
failure shows what the process really said. Every wait has a timeout; nothing sleeps.
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

from tests.fork_server import popen

from .lines import line

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

_EOF = object()  # the reader thread's last item: the child closed its output


# -- one process ----------------------------------------------------------------------------


def child_env(extra: dict[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """The environment of a child: unbuffered, no colour, per-test XDG directories (UTF-8,
    as every test's process: tests/conftest.py)."""
    env = dict(os.environ)
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1")
    env.pop("PYTHONSTARTUP", None)
    if home is not None:
        # Anything that ignores --data-dir lands in the test's directory, not the user's.
        for var, sub in (
            ("XDG_DATA_HOME", "xdg-data"),
            ("XDG_STATE_HOME", "xdg-state"),
            ("XDG_CONFIG_HOME", "xdg-config"),
            ("XDG_CACHE_HOME", "xdg-cache"),
            ("XDG_DOWNLOAD_DIR", "downloads"),  # files accepted (else ~/Downloads)
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
        self.popen = popen(
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
