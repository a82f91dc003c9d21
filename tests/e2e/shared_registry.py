"""One registry per test worker, shared by the tests that only use a registry: each such
test starts no registry of its own (a start is a process, a key and a table: 0.12 s of
CPU, and 1-2.5 s of waiting on a busy machine), and finds it as a fresh one would be.

The rule: a test on the shared registry names its peers as it likes; the harness gives
each name the test's own suffix (`start_peer("alice")` registers `alice-7`: use
`peer.name` in what the test types and expects; a room's history outlives its members,
so name rooms with `named` too). When the test ends, its processes are
killed and every name on the registry is released from its console, which leaves no
name, no room and no mail behind; a registry that does not come back empty, or that
died, is replaced by a fresh one before the next test. A test that restarts, kills,
reconfigures or reads the registry's files keeps a registry of its own (`chat`); the
registry's output from the test's start on is the test's to read (`shared_chat.registry`).
"""

from __future__ import annotations

import re
from pathlib import Path

from .harness import ChatEnv, ChatProc

#: What the shared registry allows beyond the defaults: every test of a worker registers
#: its names from 127.0.0.1, which the default limit (50 new names an hour per address)
#: would soon refuse.
OPTIONS = ("--new-names", "1000000")
_ROW = re.compile(r"^  (\S+)\s+(?:online|offline)\s")


class SharedRegistry:
    """The worker's registry: started on first use, emptied after each test."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._generation = 0
        self._env: ChatEnv | None = None
        self._tests = 0
        self.proc: ChatProc | None = None
        self.port = 0
        self.join_code = ""

    def ready(self) -> ChatProc:
        """The registry, started now if it is not running."""
        if self.proc is None or not self.proc.alive:
            self._start()
        assert self.proc is not None
        return self.proc

    def next_suffix(self) -> str:
        """The suffix of the names of the next test: none of two tests meet."""
        self._tests += 1
        return f"-{self._tests}"

    def _start(self) -> None:
        self.close()
        self._generation += 1
        self._env = ChatEnv(self._root / f"registry-{self._generation}")
        self.proc = self._env.start_registry(options=OPTIONS)
        assert self._env.registry_port is not None
        self.port, self.join_code = self._env.registry_port, self._env.join_code

    def _console(self, *commands: str) -> list[str]:
        """Type `commands` at the console; the lines they printed (up to a barrier after
        them: the release of a name that cannot exist)."""
        assert self.proc is not None
        self.proc.drain()
        start = len(self.proc.transcript)
        barrier = f"barrier.{self._tests}"
        for command in (*commands, f"release {barrier}"):
            self.proc.send(command)
        self.proc.expect(rf"no name {re.escape(barrier)} to release", timeout=10)
        return self.proc.transcript[start:]

    def empty(self) -> None:
        """Release every name registered (after the test's peers are killed). A registry
        not empty after that is replaced by a fresh one (one gone, at the next `ready`)."""
        if self.proc is None or not self.proc.alive:
            return
        try:
            rows = (_ROW.match(text) for text in self._console("who"))
            self._console(*(f"release {row.group(1)}" for row in rows if row))
            after = self._console("who", "rooms")
            clean = "  no names registered yet" in after and "  no rooms" in after
        except AssertionError:
            clean = False
        if not clean:
            self._start()

    def transcript_from(self, start: int) -> str:
        """What the registry printed since line `start` of its transcript."""
        if self.proc is None:
            return ""
        self.proc.drain()
        lines = self.proc.transcript[start:]
        return f"--- shared registry:{self.port}\n" + "\n".join(f"    | {x}" for x in lines)

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
        self._env, self.proc = None, None
