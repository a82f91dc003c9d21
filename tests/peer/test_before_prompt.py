"""A start's steps before the prompt (peer/adapter/start.py), at a real
pseudo-terminal: lines typed meanwhile are asked about at a first Ctrl-C, and said not
carried out when a second one ends the start."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from peer.adapter.start import before_prompt, waiting
from peer.core.actions import Action, Print
from terminal.typed_ahead import TypedAhead, read_typed_ahead

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def pty(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int]]:
    """(the keyboard's end, the program's end), the program's end as standard input."""
    master, slave = os.openpty()

    class Terminal:
        def fileno(self) -> int:
            return slave

    monkeypatch.setattr("sys.stdin", Terminal())
    try:
        yield master, slave
    finally:
        os.close(master)
        os.close(slave)


def test_lines_typed_are_counted_and_held_for_the_prompt(pty: tuple[int, int]) -> None:
    master, slave = pty
    assert waiting(slave) == ""
    os.write(master, b"send bob hi\rwho\rhal")
    assert waiting(slave) == "2 lines typed wait"
    os.write(master, b"f\r")  # the line being typed was left for its Enter
    assert read_typed_ahead(slave) == TypedAhead(("send bob hi", "who", "half"))


@pytest.mark.parametrize(
    "left", [None, lambda *_: None], ids=["default", "a handler that does nothing"]
)
def test_a_first_ctrl_c_asks_and_a_second_ends_the_start_saying_each_line(
    pty: tuple[int, int], left: object
) -> None:
    """Whatever SIGINT handler was there before (a prompt's or a loop's may do nothing)."""
    master, _ = pty
    original = signal.getsignal(signal.SIGINT)
    if left is not None:
        signal.signal(signal.SIGINT, left)  # type: ignore[arg-type]
    try:
        _two_ctrl_c(master)
    finally:
        signal.signal(signal.SIGINT, original)


def _two_ctrl_c(master: int) -> None:
    said: list[Action] = []

    async def start() -> bool:
        async def step() -> bool:
            await asyncio.sleep(60)  # a registry that never answers
            return True

        task = asyncio.ensure_future(before_prompt(step(), said.append))
        await asyncio.sleep(0.05)
        os.write(master, b"send bob hi\r")
        os.kill(os.getpid(), signal.SIGINT)
        while not said:
            await asyncio.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
        return await task

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(start())
    assert signal.getsignal(signal.SIGINT) is before
    assert said == [
        Print("[1 line typed waits for the registry; Ctrl-C again quits.]", "system"),
        Print("[Not carried out, as nothing was sent: send bob hi]", "error"),
    ]
