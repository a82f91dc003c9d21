"""The registry console's prompt on a terminal, every line printed above it. Ctrl-C or Ctrl-D
on its empty line stops the registry; while it serves anyone it asks first (`y`, or the same
key again). A registry of a service keeps it as its role changes."""

from __future__ import annotations

from collections.abc import Callable

from terminal.asked_first import AskedFirst
from terminal.prompt import LinePrompt


def stop_hint(desk: str = "") -> str:
    return f"quit or Ctrl-C stops the registry{desk}; it asks first while it serves anyone."


class ConsolePrompt:
    """`make` makes the prompt from LinePrompt's arguments (the full screen's, say)."""

    def __init__(self, make: Callable[..., LinePrompt] = LinePrompt) -> None:
        self._prompt: LinePrompt = make(on_interrupt=self._interrupted, on_eof=self._interrupted)
        # the question before stopping (AskedFirst.asked, while it waits for its answer)
        self._ask = AskedFirst(self._question, lambda: self._stop(), self._keeps_running)
        self._stop: Callable[[], None] = lambda: None
        self._whom: Callable[[], list[str]] = list
        self._says: Callable[[], str] = lambda: "registry> "
        self._on_line: Callable[[str, float], None] = lambda line, begun: None

    def print(self, line: str) -> None:
        self._prompt.print_above([("", line)])

    def start(
        self,
        on_line: Callable[[str, float], None],
        on_end: Callable[[], None],
        *,
        stop: Callable[[], None],
        whom: Callable[[], list[str]],
        says: Callable[[], str] = lambda: "registry> ",
    ) -> None:
        """Each line entered goes to `on_line` with when it was begun, but the answer to the
        question before stopping; `whom()` says whom the registry serves ("2 peers online";
        none: it stops without asking); `says()` is the prompt's text."""
        self._stop, self._whom, self._says, self._on_line = stop, whom, says, on_line
        self._prompt.set_prompt(self._prompt_says)
        self._prompt.start(self._line, on_end)

    def _line(self, line: str) -> None:
        if not self._ask.answer(line):
            self._on_line(line, self._prompt.begun)

    def _question(self) -> str:
        whom = self._whom()
        return f"Stop the registry? It serves {' and '.join(whom)}. [y/N] " if whom else ""

    def _keeps_running(self, line: str) -> None:
        self.print("The registry keeps running.")

    def put_back(self, text: str) -> None:
        self._prompt.put_back(text)

    async def stop(self) -> None:
        await self._prompt.stop()

    def _prompt_says(self) -> str:
        return self._ask.asked or self._says()

    def _interrupted(self) -> bool:
        if not self._ask.key():
            self._stop()
        self._prompt.set_prompt(self._prompt_says)  # drawn again: the question, or not
        return True
