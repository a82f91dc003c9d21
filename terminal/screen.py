"""The full screen, drawn by prompt_toolkit over a ScreenModel (terminal/screen_model.py):
a status bar on top, the shown window's lines beside the list of people, a row per
transfer, the activity bar of the windows, and the input line at the bottom."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from terminal.screen_model import Parts, ScreenModel, wrapped

if TYPE_CHECKING:
    from prompt_toolkit.application import Application
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import Container, Window
    from prompt_toolkit.layout.containers import AnyContainer
    from prompt_toolkit.output import Output

#: Columns of the list of people (with its border); it is left out below NARROW columns.
PEOPLE_WIDTH = 16
NARROW = 60
#: Rows the bars and the input line take: what a page of scrolling leaves out.
BARS = 3
#: Seconds between redraws at most (lines arriving faster are drawn together), and between
#: looks at what the panes show (the transfers' speed, the registry's state).
REDRAW = 0.05
REFRESH = 1.0

STYLE = {
    "bar": "reverse",
    "bar.shown": "reverse bold underline",
    "bar.unread": "reverse bold",
    "bar.mention": "reverse bold ansiyellow",
    "border": "ansibrightblack",
}


@dataclass
class Panes:
    """What the panes beside the lines show, each asked at each redraw: the status bar,
    the list of people (or the waiting room: the pane right of the lines, `side_width`
    columns with its border), and one row per transfer."""

    status: Callable[[], Parts]
    people: Callable[[], Parts]
    transfers: Callable[[], list[Parts]]
    side_width: int = PEOPLE_WIDTH


def _formatted(get: Callable[[], Parts]) -> Callable[[], FormattedText]:
    from prompt_toolkit.formatted_text import FormattedText

    return lambda: FormattedText(get())


def _pane(get: Callable[[], Parts], **window: Any) -> Window:
    """A window of the text `get()` returns at each redraw."""
    from prompt_toolkit.layout import Window
    from prompt_toolkit.layout.controls import FormattedTextControl

    return Window(FormattedTextControl(_formatted(get)), **window)


class FullScreen:
    """The application: `model`'s windows, `buffer` as the input line after `prompt()`."""

    def __init__(  # noqa: PLR0913 (the model, the line, its prompt, the panes, the terminal)
        self,
        model: ScreenModel,
        buffer: Buffer,
        prompt: Callable[[], Parts],
        panes: Panes,
        *,
        colour: bool,
        terminal: tuple[Input | None, Output | None] = (None, None),
    ) -> None:
        from prompt_toolkit.application import Application
        from prompt_toolkit.layout import Layout
        from prompt_toolkit.output import ColorDepth
        from prompt_toolkit.styles import Style

        self.model = model
        self._panes = panes
        self.keys = self._keys()
        self.app: Application[Any] = Application(
            layout=Layout(self._layout(buffer, prompt), focused_element=buffer),
            key_bindings=self.keys,
            style=Style.from_dict(STYLE),
            full_screen=True,
            color_depth=None if colour else ColorDepth.DEPTH_1_BIT,
            min_redraw_interval=REDRAW,
            input=terminal[0],
            output=terminal[1],
        )

    async def run(self) -> None:
        """Show the screen until a key ends it."""

        def watch() -> None:
            self.app.create_background_task(self._watch())

        # the program's exception handler, not prompt_toolkit's (a traceback, then a wait for Enter)
        await self.app.run_async(pre_run=watch, set_exception_handler=False)

    async def _watch(self) -> None:
        """Redraw when the panes say something new (a registry silent, a transfer moving),
        looked at every REFRESH seconds; an idle screen is not drawn again."""
        seen: object = None
        while True:
            await asyncio.sleep(REFRESH)
            now = (self._status(), self._panes.people(), self._transfers())
            if now != seen:
                seen = now
                self.app.invalidate()

    def rows(self) -> int:
        """Rows of the terminal (or of the output tests give)."""
        return self.app.output.get_size().rows

    def _layout(self, buffer: Buffer, prompt: Callable[[], Parts]) -> Container:
        from prompt_toolkit.data_structures import Point
        from prompt_toolkit.layout import Float, FloatContainer, HSplit, VSplit, Window
        from prompt_toolkit.layout.controls import FormattedTextControl
        from prompt_toolkit.layout.dimension import Dimension
        from prompt_toolkit.layout.menus import CompletionsMenu

        def shown_rows() -> list[Parts]:  # wrapped between words, the newest at the bottom
            columns = self.app.output.get_size().columns
            width = columns - (self._panes.side_width if columns >= NARROW else 0)
            rows = [row for line in self.model.visible(self.rows()) for row in wrapped(line, width)]
            return rows[-self.rows() :]

        def shown_lines() -> Parts:
            parts: Parts = []
            for row in shown_rows():
                parts += [*row, ("", "\n")]
            return parts[:-1]

        def newest() -> Point:  # the window scrolls to show it: the newest row at the bottom
            return Point(0, max(0, len(shown_rows()) - 1))

        lines = Window(
            FormattedTextControl(_formatted(shown_lines), get_cursor_position=newest),
            wrap_lines=True,
        )
        transfers = _pane(self._transfers)
        transfers.height = lambda: Dimension.exact(len(self._panes.transfers()))
        rows = HSplit(
            [
                _pane(self._status, height=1, style="class:bar"),
                VSplit([lines, self._people()]),
                transfers,
                _pane(self._activity, height=1, style="class:bar"),
                *self._input(buffer, prompt),
            ]
        )
        menu = Float(xcursor=True, ycursor=True, content=CompletionsMenu(max_height=8))
        return FloatContainer(rows, floats=[menu])

    def _people(self) -> Container:
        """The list of people, right of the lines, on a terminal wide enough."""
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.layout import ConditionalContainer, VSplit, Window

        wide = Condition(lambda: self.app.output.get_size().columns >= NARROW)
        border = Window(width=1, char="│", style="class:border")
        names = _pane(self._panes.people, width=self._panes.side_width - 1)
        return ConditionalContainer(VSplit([border, names]), filter=wide)

    def _input(self, buffer: Buffer, prompt: Callable[[], Parts]) -> list[AnyContainer]:
        """The input line after its prompt (up to 3 rows), and Ctrl-R's search below it."""
        from prompt_toolkit.formatted_text import FormattedText, fragment_list_to_text
        from prompt_toolkit.layout import VSplit, Window
        from prompt_toolkit.layout.controls import BufferControl
        from prompt_toolkit.layout.dimension import Dimension
        from prompt_toolkit.widgets import SearchToolbar

        search = SearchToolbar()
        typed = Window(BufferControl(buffer, search_buffer_control=search.control), wrap_lines=True)
        said = _pane(prompt, dont_extend_width=True)

        def height() -> Dimension:  # the rows the line takes, wrapped, up to 3
            width = len(fragment_list_to_text(FormattedText(prompt()))) + len(buffer.text) + 1
            return Dimension.exact(min(3, 1 + width // max(1, self.app.output.get_size().columns)))

        return [VSplit([said, typed], height=height), search]

    def _status(self) -> Parts:
        shown = self.model.shown
        scrolled = f" (scrolled back {shown.back}; PageDown)" if shown.back else ""
        title = (f"{shown.style} bold", f" {shown.title}{scrolled} ")  # in its colour
        return [title, ("", "│"), *self._panes.status()]

    def _transfers(self) -> Parts:
        parts: Parts = []
        for row in self._panes.transfers():
            parts += [*row, ("", "\n")]
        return parts[:-1]

    def _activity(self) -> Parts:
        """Each window's number and title; the one shown marked, those with unread lines
        with their count, and a `!` when one named you."""
        parts: Parts = []
        for number, window in enumerate(self.model.windows, 1):
            text = f"{number}:{window.title}"
            style = "class:bar"
            if window is self.model.shown:
                text, style = f"[{text}]", "class:bar.shown"
            elif window.unread:
                text += f"({window.unread}{'!' if window.mentioned else ''})"
                style = "class:bar.mention" if window.mentioned else "class:bar.unread"
            parts += [(style, text), ("class:bar", " ")]
        return [("class:bar", " "), *parts]

    def _keys(self) -> KeyBindings:
        """Alt+number, Ctrl+N and Ctrl+P switch windows; PageUp and PageDown scroll."""
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

        keys = KeyBindings()
        model = self.model

        for digit in "123456789":

            @keys.add("escape", digit)
            def _to(event: KeyPressEvent, number: int = int(digit)) -> None:
                model.switch(number)

        @keys.add("c-n")
        def _next(event: KeyPressEvent) -> None:
            model.step(1)

        @keys.add("c-p")
        def _previous(event: KeyPressEvent) -> None:
            model.step(-1)

        @keys.add("pageup")
        def _back(event: KeyPressEvent) -> None:
            model.scroll(max(1, self.rows() - BARS - 2))

        @keys.add("pagedown")
        def _forward(event: KeyPressEvent) -> None:
            model.scroll(-max(1, self.rows() - BARS - 2))

        return keys
