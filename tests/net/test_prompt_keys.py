"""A colour code typed or pasted at a prompt is text, not a mouse event that stops it."""

from __future__ import annotations

import asyncio

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.input.vt100_parser import Vt100Parser
from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.output import DummyOutput

from terminal.prompt import stray_escapes

TYPED = "\x1b[31mred\x1b[0m and \x1b[1;2m"


def test_prompt_toolkit_reads_a_colour_code_as_a_mouse_event() -> None:
    # what makes the guard needed: without it, this key's handler fails on the data
    keys: list[KeyPress] = []
    Vt100Parser(keys.append).feed_and_flush("\x1b[31m")
    assert [k.key for k in keys] == [Keys.Vt100MouseEvent]


@pytest.mark.timeout(10)
def test_a_typed_colour_code_ends_up_in_the_line_as_typed() -> None:
    async def scenario() -> str:
        with create_pipe_input() as pipe:
            session: PromptSession[str] = PromptSession(input=pipe, output=DummyOutput())
            pipe.send_text(TYPED + "\r")
            return await session.prompt_async("> ", key_bindings=stray_escapes())

    assert asyncio.run(scenario()) == TYPED
