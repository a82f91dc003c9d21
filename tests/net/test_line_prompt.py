"""The shared prompt's options for programs where Ctrl-C is leaving (the help-desk
clients): Ctrl-C ends it whatever is typed, and a line can be put back into it."""

from __future__ import annotations

import asyncio

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from terminal.prompt import LinePrompt

CTRL_C = "\x03"


async def _typed(ctrl_c_ends: bool, *batches: str) -> tuple[list[str], bool]:
    """The lines a prompt hands over as each batch of keys is typed, and whether it ended.
    After each batch, what it brings is awaited: a line (which is put back into the prompt
    when it is `long`, as the desk does with a line it did not send) or the prompt's end."""
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        prompt = LinePrompt()
        prompt.ctrl_c_ends = ctrl_c_ends
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        prompt.start(lines.put_nowait, lambda: lines.put_nowait(None))
        got: list[str] = []
        for keys in batches:
            pipe.send_text(keys)
            line = await lines.get()
            if line is None:
                await prompt.stop()
                return got, True
            got.append(line)
            if line == "long":
                prompt.put_back(line)
        await prompt.stop()
        return got, False


@pytest.mark.timeout(10)
def test_ctrl_c_ends_the_prompt_even_on_a_line_with_text() -> None:
    assert asyncio.run(_typed(True, "one\r", "half" + CTRL_C)) == (["one"], True)


@pytest.mark.timeout(10)
def test_without_the_option_ctrl_c_on_a_line_with_text_clears_it() -> None:
    got = asyncio.run(_typed(False, "half" + CTRL_C + "two\r", CTRL_C))
    assert got == (["two"], True)


@pytest.mark.timeout(10)
def test_a_line_put_back_is_sent_again_by_enter() -> None:
    assert asyncio.run(_typed(True, "long\r", "\r")) == (["long", "long"], False)
