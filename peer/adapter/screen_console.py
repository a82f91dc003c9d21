"""The peer's full screen (terminal/screen.py): each line goes to the window of its
conversation, as this file reads it from the line; the rest is TerminalConsole's prompt,
its commands, keys and history unchanged (docs/GUIDE.md, "The full screen")."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from peer.adapter.terminal import (
    NAME_COLOURS,
    TerminalConsole,
    fragments,
    hashed_colour,
    mentions,
    rings,
)
from peer.core.actions import Print
from peer.core.change_lines import TABLE_UPDATED
from peer.core.commands import JoinRoom, Me, Quit, RoomSay, SendAll, SendDirect, parse
from terminal.screen import FullScreen, Panes
from terminal.screen_model import ChatWindow, Parts, ScreenModel, Speeds, bar, duration

if TYPE_CHECKING:
    from prompt_toolkit.key_binding.key_bindings import KeyBindingsBase

#: The windows every screen has, by key; a room's key is "#" and its name, a person's "@".
NOTICES, CHANNEL = "registry", "channel"
#: A room's colour: none of a person's (NAME_COLOURS), nor red (errors) or grey (notices).
ROOM_STYLE = "#ff87d7 bold"

#: News of the table, shown in the registry's window (peer/core/change_lines.py).
TABLE_NEWS = re.compile(
    r"\[(.+ (is online|went offline|has quit)"
    r"|\d+ (people came online|people went offline|people changed their names|more have quit)"
    r"\b.*|.+ is now known as .+)\]"
)
#: The registry's own news (peer/core/registration.py, request_ends.py): its window too.
REGISTRY_NEWS = re.compile(
    r"\[(Welcome, |Server not responding|Server is back|No answer from the registry )"
)
#: Who joined or left a room, and coming back to one: the room's window.
ROOM_NEWS = re.compile(r"\[(?:\S+ (?:joined|left)|Back to) ([^\s,;\]]+)")
#: A line about a direct message to someone (peer/core/direct.py), shown in their window.
ABOUT_SOMEONE = re.compile(r"\[(?:Message received by|No ACK from) ([^,.\]]+)[.,]")
#: A file's progress (peer/core/files/transfers.py): the status bar shows it as a bar.
PROGRESS = re.compile(r"\[.+: \d+% \(.+ of .+\)\]")
#: Typed to show window N.
WINDOW_COMMAND = re.compile(r"\s*/window\s+(\d+)\s*", re.IGNORECASE)


class Where(NamedTuple):
    """The window a line goes to: its key and title ("": the window shown)."""

    key: str = ""
    title: str = ""


#: Lines the full screen does not show: the list of people and the bars say them.
HIDDEN = Where("-", "")


def person_colour(name: str) -> str:
    """`name`'s colour: from the name alone, the same on every screen and in every run."""
    return NAME_COLOURS[hashed_colour(name)]


def where(line: Print) -> Where:
    """The window of `line`, read from its style and its words."""
    text, who = line.text, line.who
    if line.style == "channel" or (line.style == "message" and text.startswith("Channel_")):
        return Where(CHANNEL, CHANNEL)
    if line.style == "message" and who:
        return Where("@" + who.casefold(), who)
    if line.style in ("room", "history") and (room := _room_of(text, who)):
        return Where("#" + room.casefold(), room)
    if text == TABLE_UPDATED or (line.style == "info" and PROGRESS.fullmatch(text)):
        return HIDDEN
    if TABLE_NEWS.fullmatch(text) or REGISTRY_NEWS.match(text):
        return Where(NOTICES, NOTICES)
    if room_news := ROOM_NEWS.match(text):
        room = room_news[1].removesuffix(".")
        return Where("#" + room.casefold(), room)
    if (about := ABOUT_SOMEONE.match(text)) and about[1] != "Server":
        return Where("@" + about[1].casefold(), about[1])
    return Where()


def _room_of(text: str, who: str) -> str:
    """The room of a room line: `who (in lab): ...`, or `* who waves (in lab)`."""
    said = f"{who} (in "
    if (at := text.find(said)) >= 0 and "): " in text[at:]:
        return text[at + len(said) : text.index("): ", at)]
    if text.endswith(")") and (at := text.rfind(" (in ")) >= 0:
        return text[at + 5 : -1]
    return ""


def in_room_window(line: Print, room: str) -> Print:
    """`line` of `room` as its own window shows it: without "(in room)"."""
    said = f"{line.who} (in {room}): "
    text = line.text.replace(said, f"{line.who}: ", 1)
    if text == line.text and text.endswith(f" (in {room})"):
        text = text[: -len(f" (in {room})")]
    return Print(text, line.style, line.who)


def typed_where(text: str, *, room: str) -> Where:
    """The window a typed line goes to: the one its command names (`send bob`, `join lab`,
    `send_all`), the room's for a line said in `room`, else the window shown."""
    command = parse(text, in_room=bool(room))
    match command:
        case SendDirect(to=to):
            return Where("@" + to.casefold(), to)
        case SendAll():
            return Where(CHANNEL, CHANNEL)
        case JoinRoom(room=joined):
            return Where("#" + joined.casefold(), joined)
        case RoomSay() | Me() if room:
            return Where("#" + room.casefold(), room)
    return Where()


class ScreenSources(TypedDict):
    """What the screen shows besides lines: the table's (name, online) rows, the room
    you are in, the registry's address and whether it answers (None: not yet heard), the
    outbox's count, and each transfer (number, label, bytes done, size)."""

    people: Callable[[], Sequence[tuple[str, bool]]]
    room: Callable[[], str]
    registry: Callable[[], str]
    answers: Callable[[], bool | None]
    outbox: Callable[[], int]
    transfers: Callable[[], Sequence[tuple[int, str, int, int]]]


def _nothing() -> Sequence[Any]:
    return ()


class ScreenConsole(TerminalConsole):
    """TerminalConsole on the full screen: a window per conversation (ScreenModel)."""

    def __init__(self, *, colour: bool, bell: bool) -> None:
        super().__init__(colour=colour, bell=bell)
        self.model = ScreenModel(ChatWindow(NOTICES, NOTICES))
        self._speeds = Speeds()
        self._screen_sources = ScreenSources(
            people=_nothing,
            room=str,
            registry=str,
            answers=lambda: None,
            outbox=lambda: 0,
            transfers=_nothing,
        )
        panes = Panes(self._status, self._people, self._transfers)
        terminal = (self.session.input, self.session.output)
        self.screen = FullScreen(
            self.model,
            self.session.default_buffer,
            self.prompt_text,
            panes,
            colour=colour,
            terminal=terminal,
        )
        # a typed quit: the lines of the window it was typed in, then (None: none typed)
        self._quit_at: int | None = None
        self._ran = False  # the screen was shown, and has ended

    @property
    def app(self) -> Any:
        return self.screen.app

    def watch(self, sources: ScreenSources) -> None:
        self._screen_sources = sources

    def show(self, line: Print) -> None:
        if self._ran:  # after the screen: on the terminal, as the prompt's lines
            super().show(line)
            return
        to = where(line)
        if to is HIDDEN:
            self.app.invalidate()  # the people and bars show it
            return
        window = self._window(to)
        if to.key.startswith("#"):
            line = in_room_window(line, to.title)
        colour_of = person_colour if self._colour else str
        parts = fragments(line, self._colour, colour_of, prefix="")
        said = line.style in ("message", "channel", "room")  # others mark no window unread
        self.model.add(window, parts, unread=said, mention=self._names_me(line))
        self.app.invalidate()
        if self._bell and rings(line, self._me()):
            self.app.output.bell()
            self.app.output.flush()

    def _names_me(self, line: Print) -> bool:
        """Whether `line` is to you: a direct message, or a line that names you."""
        if line.style == "message" and not line.text.startswith("Channel_"):
            return True
        return line.style in ("room", "channel") and mentions(line.text, self._me())

    def _window(self, to: Where) -> ChatWindow:
        if not to.key:
            return self.model.shown
        style = ""
        if self._colour:
            style = ROOM_STYLE if to.key[0] == "#" else ""
            style = person_colour(to.title) if to.key[0] == "@" else style
        return self.model.window(to.key, to.title, style)

    def print_above(self, parts: Parts) -> None:
        if self._ran:
            super().print_above(parts)  # printed on the terminal
            return
        self.model.add(self.model.shown, parts)
        self.app.invalidate()

    def after_printed(self, then: Callable[[], None]) -> None:
        then()  # in the model, a line is on the screen

    def _entered(self, text: str, on_line: Callable[[str], None]) -> None:
        """`/window N` shows window N; a line whose command names a window shows it first."""
        if number := WINDOW_COMMAND.fullmatch(text):
            self._keep(text)
            if not self.model.switch(int(number[1])):
                self.show(Print(f"[No window {number[1]}: Alt+1 to Alt+9, or /window N.]"))
            return
        if not self._ask.asked and not self._question():  # (an answer names no window)
            to = typed_where(text, room=self._screen_sources["room"]())
            if to.key:
                self.model.switch_to(self._window(to))
        if isinstance(parse(text, in_room=bool(self._screen_sources["room"]())), Quit):
            self._quit_at = len(self.model.shown.lines)
        super()._entered(text, on_line)

    async def prompt(self, keys: KeyBindingsBase, default: str) -> None:
        from prompt_toolkit.key_binding import merge_key_bindings

        self.session.default_buffer.text = default
        self.app.key_bindings = merge_key_bindings([keys, self.screen.keys])
        try:
            await self.screen.run()
        finally:
            self._ran = True

    async def stop(self) -> None:
        await super().stop()
        # what answered a typed quit (its farewell) stays on the terminal
        if self._quit_at is not None:
            from prompt_toolkit import print_formatted_text
            from prompt_toolkit.formatted_text import FormattedText

            for parts in list(self.model.shown.lines)[self._quit_at + 1 :][-10:]:
                print_formatted_text(FormattedText(parts))

    # -- the panes ------------------------------------------------------------------------

    def _status(self) -> Parts:
        sources = self._screen_sources
        answers = {True: "answers", False: "does not answer", None: "not heard yet"}
        said = answers[sources["answers"]()]
        style = "" if said == "answers" or not self._colour else "ansired"
        return [
            ("bold", f" {self._me()} "),
            ("", f"│ registry {sources['registry']()} "),
            (style, said),
            ("", f" │ outbox {sources['outbox']()} "),
        ]

    def _people(self) -> Parts:
        rows = sorted(self._screen_sources["people"](), key=lambda r: (not r[1], r[0].casefold()))
        parts: Parts = []
        for online in (True, False):
            names = [name for name, on in rows if on == online]
            if names:
                parts.append(("bold", "Online\n" if online else "Offline\n"))
            for name in names:
                style = person_colour(name) if self._colour and online else ""
                parts.append((style if online else "ansibrightblack", f" {name}\n"))
        return parts

    def _transfers(self) -> list[Parts]:
        now, rows = time.monotonic(), []
        shown = self._screen_sources["transfers"]()
        self._speeds.keep_only({str(number) for number, *_ in shown})
        for number, label, done, size in shown:
            progress = self._speeds.progress(str(number), label, done, size, now)
            speed = f"{progress.speed / 1e6:.1f} MB/s" if progress.speed else "waiting"
            left = f", {duration(progress.left)} left" if progress.speed else ""
            percent = int(progress.fraction * 100)
            rows.append(
                [
                    ("", f" {label} "),
                    ("ansigreen" if self._colour else "", bar(progress.fraction, 20)),
                    ("", f" {percent:3d}%  {speed}{left}"),
                ]
            )
        return rows
