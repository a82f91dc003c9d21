"""The questions asked before the prompt starts: a yes-or-no's answer, a password's read
unechoed, and a question cancelled (Ctrl-C) leaves the line it was asked on."""

from __future__ import annotations

import asyncio
import os
import pty
import sys
import termios
from collections.abc import Iterator

import pytest

from terminal.prompt import ask_secret, ask_yes_no

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def answer_end(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Standard input from a pipe: its write end."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        yield write_end
    os.close(write_end)


@pytest.mark.parametrize(("answer", "yes"), [(b"y\n", True), (b" YES \n", True), (b"n\n", False)])
def test_the_answer(
    answer_end: int, capsys: pytest.CaptureFixture[str], answer: bytes, yes: bool
) -> None:
    os.write(answer_end, answer)
    assert asyncio.run(ask_yes_no("Trust it? ")) is yes
    assert capsys.readouterr().out == "Trust it? "


def test_cancelled_ends_the_question_line(
    answer_end: int, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_cancelled(capsys))
    assert capsys.readouterr().out == "\n"


async def _cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    """Ask, and cancel the question once it is shown (as Ctrl-C does)."""
    asked = asyncio.ensure_future(ask_yes_no("Trust it? "))
    while capsys.readouterr().out != "Trust it? ":
        await asyncio.sleep(0)
    asked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asked


def test_a_secret_is_read_unechoed_and_the_terminal_s_modes_put_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    main, side = pty.openpty()
    with os.fdopen(side, "rb") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        before = termios.tcgetattr(side)
        echoed: list[bool] = []

        async def typed() -> str:
            asked = asyncio.ensure_future(ask_secret("Password again: "))
            while capsys.readouterr().out != "Password again: ":
                await asyncio.sleep(0)
            echoed.append(bool(termios.tcgetattr(side)[3] & termios.ECHO))
            os.write(main, b" two words \n")
            return await asked

        assert asyncio.run(typed()) == " two words "  # as typed, spaces kept
        assert echoed == [False] and termios.tcgetattr(side) == before
        assert capsys.readouterr().out == "\n"  # the newline the terminal did not echo
    os.close(main)
