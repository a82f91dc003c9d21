"""The real operator's client full-screen on an 80x24 pseudo-terminal, read through pyte:
the first person opens the conversation's window, the second waits in the pane beside it
(the client's own looks at the waiting room), and `.quit` leaves its answer on the terminal.
The screen's details are tested headless (tests/peer/test_operator_screen.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from desk_procs import DeskWorld

from tests.e2e.terminal_peers import Terminal, exits


@pytest.mark.timeout(40)
def test_an_operator_on_a_terminal_serves_beside_the_waiting_room(tmp_path: Path) -> None:
    world = DeskWorld(tmp_path)
    env = world.env() | {"TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    args = world.chatapp("-o", "ann", "127.0.0.1", str(world.port), trusting=True)
    ann = Terminal([sys.executable, *args], env, rows=24, columns=80)
    try:
        ann.wait("on duty", lambda rows: "│ on duty │ 0 waiting" in rows[0])
        world.person("Alice", "+44 7700 900123", 5)
        ann.wait("Alice's window", lambda rows: rows[-2] == " 1:desk [2:Alice]")
        world.person("Bob", "+44 7700 900456", 4)
        ann.wait(
            "Bob waiting beside",
            lambda rows: "│ 1 waiting" in rows[0] and any("│ 1. Bob " in row for row in rows),
        )
        ann.type(".quit\r")
        ann.wait("the farewell", lambda rows: rows[-1].startswith("[You are off duty; Alice"))
        exits(ann)
    finally:
        ann.close()
        world.close()
