"""The real program full-screen on an 80x24 pseudo-terminal, read through pyte: the bars
are drawn, a message opens its window, a command switches to its own, and quitting leaves
the farewell on the terminal. The screen's details are tested headless
(tests/peer/test_screen_console.py)."""

from __future__ import annotations

import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.event_loop import ERROR_LOG_NAME

from .harness import ChatEnv
from .terminal_peers import Terminal, exits, start_terminal_peer


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    try:
        yield made
    finally:
        for terminal in made:
            terminal.close()


@pytest.mark.timeout(30)
def test_a_peer_on_a_terminal_is_full_screen_with_a_window_per_conversation(
    shared_chat: ChatEnv, terminals: list[Terminal]
) -> None:
    chat = shared_chat
    (bob,) = chat.start_peers("bob")
    alice = start_terminal_peer(chat, terminals, "alice", colour=True, full_screen=True)
    me, bob_name = chat.named("alice"), chat.named("bob")
    alice.wait(
        "the bars and the people",
        lambda rows: (
            rows[0].startswith(f" registry │ {me} │ registry ")
            and "answers" in rows[0]
            and any(row.endswith(f"│ {bob_name}") for row in rows)
            and rows[-2] == " [1:registry]"
        ),
    )
    bob.send(f"send {me} hello from bob")
    alice.wait("bob's window, unread", lambda rows: f"2:{bob_name}(1!)" in rows[-2])
    alice.type(f"send {bob_name} hi bob\r")
    alice.wait(
        "bob's window shown, with both lines",
        lambda rows: (
            rows[-2] == f" 1:registry [2:{bob_name}]"
            and rows[1].startswith(f"{bob_name}: hello from bob")
            and rows[2].startswith(f"{me}> send {bob_name} hi bob")
        ),
    )
    alice.type("/quit\r")
    alice.wait("the farewell", lambda rows: any("Bye." in row for row in rows))
    exits(alice)


@pytest.mark.timeout(30)
def test_closing_the_terminal_ends_the_peer_with_no_internal_error(
    shared_chat: ChatEnv, terminals: list[Terminal]
) -> None:
    """Found by trying it: closing the terminal's window (a hang-up, then SIGCONT) made the
    peer redraw on a terminal gone, and log that as an internal error."""
    chat = shared_chat
    chat.start_peers("bob")  # (the registry's key is pinned by then)
    alice = start_terminal_peer(chat, terminals, "alice", colour=False, full_screen=True)
    alice.wait("the bars", lambda rows: len(rows) > 2 and "answers" in rows[0])
    errors = Path(tempfile.gettempdir()) / ERROR_LOG_NAME
    process = alice.child.ptyproc
    process.fileobj.close()  # the terminal's window closes: its pseudo-terminal hangs up
    deadline = time.monotonic() + 10
    while process.isalive():
        assert time.monotonic() < deadline, "the peer outlived its terminal"
        time.sleep(0.05)
    assert process.signalstatus is None and process.exitstatus == 128 + signal.SIGHUP
    logged = errors.read_text(encoding="utf-8") if errors.exists() else ""
    assert f" pid {process.pid}\n" not in logged
