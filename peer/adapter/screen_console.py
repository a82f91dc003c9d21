"""The peer's full screen (terminal/screen.py): each line goes to the window of its
conversation, read from the line; the rest is TerminalConsole's (docs/GUIDE.md)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from peer.adapter.terminal import (
    NAME_COLOURS,
    TerminalConsole,
    fragments,
    hashed_colour,
    mentions,
)
from peer.core import commands as cmd
from peer.core.actions import Print
from peer.core.change_lines import TABLE_UPDATED
from terminal.screen import Panes
from terminal.screen_model import ChatWindow, Parts, Speeds, bar, duration
from terminal.screen_prompt import ScreenPrompt

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
#: A rename in the news of the table: the person's window follows it, as IRC clients' do.
RENAMED = re.compile(r"([\w.-]+) is now known as ([\w.-]+)")
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


#: Lines the full screen does not show: the list of people and the bars say them.
HIDDEN = "-"


def status_bar(name: str, where: str, answers: bool | None, rest: str, colour: bool) -> Parts:
    """A full screen's status bar: your name, `where`, whether it `answers`, the `rest`."""
    said = {True: "answers", False: "does not answer", None: "not heard yet"}[answers]
    warn = "" if answers or not colour else "ansired"
    return [("bold", f" {name} "), ("", f"│ {where} "), (warn, said), ("", f" │ {rest} ")]


def person_colour(name: str) -> str:
    return NAME_COLOURS[hashed_colour(name)]


def where(line: Print) -> str:
    """The window of `line`: "@" and a person's name, "#" and a room's, CHANNEL or NOTICES;
    "": the window shown."""
    text, who = line.text, line.who
    if line.style == "channel" or (line.style == "message" and text.startswith("Channel_")):
        return CHANNEL
    if line.style == "message" and who:
        return "@" + who
    if line.style in ("room", "history") and (room := _room_of(text, who)):
        return "#" + room
    if text == TABLE_UPDATED or (line.style == "info" and PROGRESS.fullmatch(text)):
        return HIDDEN
    if TABLE_NEWS.fullmatch(text) or REGISTRY_NEWS.match(text):
        return NOTICES
    if room_news := ROOM_NEWS.match(text):
        return "#" + room_news[1].removesuffix(".")
    if (about := ABOUT_SOMEONE.match(text)) and about[1] != "Server":
        return "@" + about[1]
    return ""


def _room_of(text: str, who: str) -> str:
    """The room of a room line: `who (in lab): ...`, or `* who waves (in lab)`."""
    said = f"{who} (in "
    if (at := text.find(said)) >= 0 and "): " in text[at:]:
        return text[at + len(said) : text.index("): ", at)]
    if text.endswith(")") and (at := text.rfind(" (in ")) >= 0:
        return text[at + 5 : -1]
    return ""


def in_room_window(line: Print, room: str) -> Print:
    said = f"{line.who} (in {room}): "
    text = line.text.replace(said, f"{line.who}: ", 1)
    if text == line.text and text.endswith(f" (in {room})"):
        text = text[: -len(f" (in {room})")]
    return Print(text, line.style, line.who)


def typed_where(text: str, *, room: str) -> str:
    """The window a typed line goes to: the one its command names, else "" (the shown)."""
    command = cmd.parse(text, in_room=bool(room))
    match command:
        case (
            cmd.Command(handler=cmd.SEND, args=(to, _))
            | cmd.Command(handler="commands.ask_message", args=(to,))
        ) if to:
            return "@" + to
        case cmd.Command(handler="commands.send_all"):
            return CHANNEL
        case cmd.Command(handler="membership.join", args=(joined,)):
            return "#" + joined
        case cmd.Command(handler=cmd.SAY | "membership.me" | "membership.shrug") if room:
            return "#" + room
    return ""


def said_to(person: str, line: str) -> str:
    """A line typed in `person`'s window ("": no person's): a message to them, unless it is
    a command (begins with /) or empty."""
    if not person or not line.strip() or line.startswith("/"):
        return line
    return f"/send {person} {line}"


class ScreenConsole(TerminalConsole, ScreenPrompt):
    """TerminalConsole on the full screen (ScreenPrompt): a window per conversation."""

    def __init__(self, *, colour: bool, bell: bool) -> None:
        panes = Panes(self._status, self._people, self._transfers)
        super().__init__(colour=colour, bell=bell, first=ChatWindow(NOTICES, NOTICES), panes=panes)
        self._speeds = Speeds()
        self._echoed: Parts | None = None

    def _draw(self, line: Print) -> None:
        if self._ran:  # after the screen: on the terminal, as the prompt's lines
            super()._draw(line)
            return
        to = where(line)
        if to == HIDDEN:
            self.app.invalidate()  # the people and bars show it
            return
        if to == NOTICES:
            for old, new in RENAMED.findall(line.text):
                style = person_colour(new) if self._colour else ""
                self.model.rekey(f"@{old}".casefold(), f"@{new}".casefold(), new, style)
        window = self._window(to)
        if to.startswith("#"):
            line = in_room_window(line, to[1:])
        parts = fragments(line, self._colour, person_colour, prefix="")
        said = line.style in ("message", "channel", "room")  # others mark no window unread
        self.add(window, parts, unread=said, mention=self._names_me(line))

    def _names_me(self, line: Print) -> bool:
        if line.style == "message" and not line.text.startswith("Channel_"):
            return True
        return line.style in ("room", "channel") and mentions(line.text, self._sources.me())

    def _window(self, to: str) -> ChatWindow:
        if not to:
            return self.model.shown
        title, style = to[1:] if to[0] in "@#" else to, ""
        if self._colour:
            style = ROOM_STYLE if to[0] == "#" else person_colour(title) if to[0] == "@" else ""
        return self.model.window(to.casefold(), title, style)

    def _entered(self, text: str, on_line: Callable[[str], None]) -> None:
        """A line whose command names a window shows it first (`/window N`: ScreenPrompt)."""
        if person := self._person_shown():
            typed = on_line
            on_line = lambda line: typed(said_to(person, line))  # noqa: E731
        self._echoed = self.prompt_text()  # the line is echoed after the prompt it was typed at
        if not self._ask.asked and not self._sources.question():  # (an answer names no window)
            to = typed_where(said_to(person, text), room=self._sources.room())
            if to:
                self.model.switch_to(self._window(to))
        try:
            super()._entered(text, on_line)
        finally:
            self._echoed = None
        if person and said_to(person, text) != text and cmd.spelled_as_command(text):
            # as in a room: the user may have meant the command
            word = text.split()[0].lower()
            hint = (
                f"[Sent to {person} as text; in {person}'s window, commands need their /: /{word}]"
            )
            self._draw(Print(hint, "system"))

    def _person_shown(self) -> str:
        """Whose window is shown, while no question waits for an answer ("": nobody's)."""
        shown = self.model.shown
        if self._ask.asked or self._sources.question() or not shown.key.startswith("@"):
            return ""
        return shown.title

    def prompt_text(self) -> Parts:
        """In a person's window, the prompt says the line goes to them."""
        if self._echoed is not None:
            return self._echoed
        if person := self._person_shown():
            return [(self._style(), f"{self._sources.me()} to {person}> ")]
        return super().prompt_text()

    def _status(self) -> Parts:
        sources = self._sources
        where, outbox = f"registry {sources.registry()}", f"outbox {sources.outbox()}"
        return status_bar(sources.me(), where, sources.answers(), outbox, self._colour)

    def _people(self) -> Parts:
        rows = sorted(self._sources.people(), key=lambda r: (not r[1], r[0].casefold()))
        parts: Parts = []
        for online in (True, False):
            listed = [(name, away) for name, on, away in rows if on == online]
            if listed:
                parts.append(("bold", "Online\n" if online else "Offline\n"))
            for name, away in listed:
                lit = online and not away  # offline or away: dimmed; away: said, as in `who`
                style = person_colour(name) if self._colour else ""
                said = f" {name} (away)\n" if online and away else f" {name}\n"
                parts.append((style if lit else "ansibrightblack", said))
        return parts

    def _transfers(self) -> list[Parts]:
        now, rows = time.monotonic(), []
        shown = self._sources.transfers()
        self._speeds.keep_only({str(number) for number, *_ in shown})
        for number, label, done, size in shown:
            progress = self._speeds.progress(str(number), label, done, size, now)
            speed = f"{progress.speed / 1e6:.1f} MB/s" if progress.speed else "waiting"
            left = f", {duration(progress.left)} left" if progress.speed else ""
            done_bar = ("ansigreen" if self._colour else "", bar(progress.fraction, 20))
            said = f" {int(progress.fraction * 100):3d}%  {speed}{left}"
            rows.append([("", f" {label} "), done_bar, ("", said)])
        return rows
