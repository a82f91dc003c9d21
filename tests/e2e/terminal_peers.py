"""A peer on a real pseudo-terminal, for the terminal tests (test_terminal.py): it runs
under pexpect, and what it writes goes through pyte, a terminal emulator, so that a test
reads the screen a person would see, not the escape sequences. Every wait is on the
screen's content, with a deadline."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable

import pexpect
import pyte
import pytest

from tests import forked_terminal

from .harness import CHATAPP, HOST, REPO, ChatEnv, Peer, free_port

COLUMNS, ROWS = 100, 24


class Terminal:
    """A child process on a pseudo-terminal, with the screen it has drawn."""

    def __init__(
        self, argv: list[str], env: dict[str, str], rows: int = ROWS, columns: int = COLUMNS
    ) -> None:
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self.child = forked_terminal.Spawn(
            argv[0], argv[1:], cwd=str(REPO), env=env, dimensions=(rows, columns)
        )
        self.child.delaybeforesend = None  # pexpect sleeps 50 ms before each send otherwise

    def lines(self) -> list[str]:
        """The screen's non-blank rows, right-trimmed, top to bottom ([""] for a blank one,
        as between erasing the prompt and drawing it again)."""
        return [row.rstrip() for row in self.screen.display if row.strip()] or [""]

    def wait(self, what: str, ok: Callable[[list[str]], bool], timeout: float = 10.0) -> None:
        """Feed output to the screen until `ok(lines)`; fail with the screen on timeout."""
        deadline = time.monotonic() + timeout
        while not ok(self.lines()):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"screen never showed {what}:\n" + "\n".join(self.lines()))
            try:
                self._feed(self.child.read_nonblocking(65536, timeout=min(left, 0.2)))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                self.child.isalive()  # (reaps it: its status, or the signal that ended it)
                how = f"status {self.child.exitstatus}, signal {self.child.signalstatus}"
                screen = "\n".join(self.lines())
                pytest.fail(f"the peer ended ({how}) before {what}:\n{screen}")

    def type(self, text: str) -> None:
        self.child.send(text)

    def pump(self, timeout: float = 0.0) -> None:
        """Feed the output there is to the screen, waiting at most `timeout` for some."""
        with contextlib.suppress(pexpect.TIMEOUT):
            self._feed(self.child.read_nonblocking(65536, timeout=timeout))

    def _feed(self, data: bytes) -> None:
        self._stream.feed(data)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()


def start_terminal_peer(
    chat: ChatEnv,
    terminals: list[Terminal],
    name: str,
    *,
    colour: bool,
    rows: int = ROWS,
    shell_after: str = "",
    full_screen: bool = False,
) -> Terminal:
    """A peer at a terminal (the prompt and lines, `--plain`, unless `full_screen`); with
    `shell_after`, run by bash, which then runs that script on the same terminal (as the
    user's shell reads it once the peer has exited)."""
    assert chat.registry_port is not None
    # pyte does not answer prompt_toolkit's cursor position requests: say so, instead of
    # letting prompt_toolkit wait for the answers and print a warning
    env = dict(chat.env, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
    if colour:
        env.pop("NO_COLOR", None)
    argv = [
        sys.executable, str(CHATAPP), "-c", chat.named(name), HOST, str(chat.registry_port),
        str(free_port()), "--data-dir", str(chat.peer_dir), "--keepalive", "0.5",
        *([] if full_screen else ["--plain"]),
    ]  # fmt: skip
    if shell_after:
        argv = ["bash", "-c", f'"$@"; {shell_after}', "bash", *argv]
    terminal = Terminal(argv, env, rows, 80 if full_screen else COLUMNS)
    terminals.append(terminal)
    return terminal


def names(terminal_env: tuple[ChatEnv, list[Terminal]]) -> tuple[str, str, str]:
    """What alice, bob and the room teamchat are called on the shared registry."""
    chat, _ = terminal_env
    return chat.named("alice"), chat.named("bob"), chat.named("teamchat")


def bob_and_alice_starting(
    terminal_env: tuple[ChatEnv, list[Terminal]], *, colour: bool = False, rows: int = ROWS
) -> tuple[Peer, Terminal]:
    """bob piped, and alice at a terminal, just started: no prompt yet."""
    chat, terminals = terminal_env
    (bob,) = chat.start_peers("bob")
    return bob, start_terminal_peer(chat, terminals, "alice", colour=colour, rows=rows)


def bob_and_alice_at_a_terminal(
    terminal_env: tuple[ChatEnv, list[Terminal]], *, colour: bool = False, rows: int = ROWS
) -> tuple[Peer, Terminal]:
    """bob piped, and alice at a terminal showing her prompt, registered with bob in her table
    (the prompt shows before the Welcome: a line typed sooner waits for it)."""
    bob, alice = bob_and_alice_starting(terminal_env, colour=colour, rows=rows)
    registered(alice, terminal_env[0].named("alice"))
    return bob, alice


def registered(alice: Terminal, name: str) -> None:
    """Wait for `alice`'s prompt and her first table, which comes with her Welcome."""
    alice.wait("the prompt", lambda rows: rows[-1] == name + ">")
    alice.wait("the first table", lambda rows: "[Client table updated.]" in " ".join(rows))


def exits(alice: Terminal, status: int = 0) -> None:
    """alice's peer ends, with `status`."""
    alice.child.expect(pexpect.EOF, timeout=10)
    alice.child.close()
    assert alice.child.exitstatus == status
