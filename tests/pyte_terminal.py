"""A terminal that prompt_toolkit draws on, read through pyte (a terminal emulator): what
the full-screen tests read, as a person would see it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TextIO, cast

import pyte
import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.output.vt100 import Vt100_Output


class Terminal:
    """A terminal of `rows` x `columns` that prompt_toolkit draws on, read through pyte."""

    def __init__(self, rows: int = 24, columns: int = 80) -> None:
        self.size = Size(rows, columns)
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.Stream(self.screen)
        self.written: list[str] = []
        self.encoding = "utf-8"
        out = cast(TextIO, self)
        self.output = Vt100_Output(out, lambda: self.size, term="xterm-256color", enable_cpr=False)

    def write(self, data: str) -> None:
        self.written.append(data)
        self._stream.feed(data)

    def flush(self) -> None:
        pass

    def resize(self, rows: int, columns: int) -> None:
        self.size = Size(rows, columns)
        self.screen.resize(rows, columns)

    @property
    def rows(self) -> list[str]:
        return [row.rstrip() for row in self.screen.display]

    async def until(self, app: Any, what: str, ok: Callable[[list[str]], bool]) -> None:
        """Wait for the screen `app` draws here to satisfy `ok`; fail with the screen after
        5 s."""
        deadline = time.monotonic() + 5
        app.invalidate()
        while not ok(self.rows):
            if time.monotonic() > deadline:
                pytest.fail(f"never {what}:\n" + "\n".join(self.rows))
            await asyncio.sleep(0.01)

    async def sees(self, app: Any, text: str) -> None:
        await self.until(app, f"showed {text!r}", lambda rows: any(text in row for row in rows))
