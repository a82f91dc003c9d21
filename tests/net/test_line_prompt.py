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


class _Counted(DummyOutput):
    """An output that counts its flushes and keeps what is written."""

    def __init__(self) -> None:
        self.flushes = 0
        self.text = ""

    def write(self, data: str) -> None:
        self.text += data

    def flush(self) -> None:
        self.flushes += 1


async def _flushes_to_print(prompt: LinePrompt, out: _Counted, lines: list[str]) -> int:
    """The output's flushes while `lines`, printed above the running prompt in one pass of
    the loop, reach the screen."""
    before = out.flushes
    for line in lines:
        prompt.print_above([("", line)])
    shown = asyncio.get_running_loop().create_future()
    prompt.after_printed(lambda: shown.set_result(None))
    await asyncio.wait_for(shown, 5)
    return out.flushes - before


@pytest.mark.timeout(10)
def test_lines_printed_in_one_pass_reach_the_screen_in_one_go() -> None:
    async def main() -> tuple[int, int, str]:
        out = _Counted()
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=out):
            prompt = LinePrompt()
            prompt.start(lambda line: None, lambda: None)
            async with asyncio.timeout(5):
                while not prompt.session.app.is_running:
                    await asyncio.sleep(0)
            one = await _flushes_to_print(prompt, out, ["first"])
            five = await _flushes_to_print(prompt, out, [f"line {n}" for n in range(5)])
            await prompt.stop()
            return one, five, out.text

    one, five, text = asyncio.run(main())
    assert five == one  # one erase, print and redraw of the prompt, not one per line
    at = [text.index(f"line {n}") for n in range(5)]
    assert at == sorted(at)
