"""The yes-or-no question asked before the prompt starts: its answer, and a question
cancelled (Ctrl-C) leaves the line it was asked on."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator

import pytest

from terminal.prompt import ask_yes_no

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
