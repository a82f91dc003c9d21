"""An operator's command line: what a typed line means (a line for the person served, or
`.room`, `.end`, `.serve`, `.first`, `.help`, `.quit`). The registry's console operator and
`ChatApp -o` parse with the same function, so both behave alike.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from wire.desk.messages import DeskEnd, DeskFirst, DeskLine, DeskMessage, DeskRoomRequest, DeskServe
from wire.desk.text import (
    ALL_TOPICS,
    MAX_DESK_LINE,
    MAX_PERSON_NAME,
    TOPICS,
    too_long_line,
    topics_text,
)
from wire.shown_text import clean

OPERATOR_HELP: tuple[str, ...] = (
    "Help-desk operator commands:",
    "  .room          list the waiting room (position, name, topic, masked phone, time waited)",
    "  .end           end the current session and take the next person",
    "  .serve 1,3     serve only these topics; .serve all, .serve none; .serve alone shows them",
    "  .first 3       put number 3 of .room at the front of the line (someone in danger, say);",
    "                 .first Maria puts the person of that name there",
    "  .help          this list",
    "  .quit          go off duty (on the registry console: .serve none)",
    "  ..text         send a line that starts with '.'",
    "  anything else  goes to the person you are serving",
)


class OperatorInput(Struct, frozen=True):
    """What an operator's line means: a message to send, lines to print here, or leaving."""

    message: DeskMessage | None = None
    lines: tuple[str, ...] = ()
    too_long: bool = False  # a line over MAX_DESK_LINE, not sent (see `too_long_line`)
    quit: bool = False


def parse_topics(text: str) -> tuple[int, ...] | None:
    """`1,3` / `1 3` / `all` / `none` as a sorted tuple of topics, or None when invalid."""
    words = text.replace(",", " ").lower().split()
    if words == ["all"]:
        return ALL_TOPICS
    if words == ["none"]:
        return ()
    if not words or not all(w.isdigit() and w.isascii() and int(w) in TOPICS for w in words):
        return None
    return tuple(sorted({int(w) for w in words}))


def parse_operator_line(
    line: str,
    make_id: Callable[[], str],
    topics: tuple[int, ...],
    session: str,
    *,
    help_lines: tuple[str, ...] = OPERATOR_HELP,
) -> OperatorInput:
    """Turn one typed line into what to do, given the `topics` served and the `session`
    shown ("" for none); `help_lines` is what `.help` shows. Never raises."""
    text = line.rstrip("\r\n")
    if not text.startswith(".") or text.startswith(".."):
        return _chat_line(text[1:] if text.startswith("..") else text, make_id, session)
    word, _, rest = text.partition(" ")
    command = word.lower()
    if command == ".room":
        return OperatorInput(message=DeskRoomRequest(make_id()))
    if command == ".end":
        return OperatorInput(message=DeskEnd(make_id(), session))
    if command == ".help":
        return OperatorInput(lines=help_lines)
    if command in (".quit", ".exit"):
        return OperatorInput(quit=True)
    if command == ".first":
        return _first(rest.strip(), make_id)
    if command == ".serve":
        return _serve(rest, make_id, topics)
    return OperatorInput(lines=(f"[Unknown command {clean(word)[:20]}: .help lists them.]",))


def _chat_line(body: str, make_id: Callable[[], str], session: str) -> OperatorInput:
    """`body`, typed for the person served in `session`: sent, unless blank or too long."""
    if not body.strip():
        return OperatorInput()
    if len(body) > MAX_DESK_LINE:
        return OperatorInput(lines=(too_long_line(body, in_prompt=False),), too_long=True)
    return OperatorInput(message=DeskLine(make_id(), "", body, session))


def _first(who: str, make_id: Callable[[], str]) -> OperatorInput:
    """`.first 3` (a number of `.room`) or `.first Maria` (a name)."""
    if who.isdigit() and who.isascii() and int(who) >= 1:
        return OperatorInput(message=DeskFirst(make_id(), int(who)))
    if not who or who.lstrip("+-").isdigit() or len(who) > MAX_PERSON_NAME:
        return OperatorInput(
            lines=("[Usage: .first 3 (a number from the list .room shows) or .first Maria.]",)
        )
    return OperatorInput(message=DeskFirst(make_id(), 0, who))


def _serve(rest: str, make_id: Callable[[], str], topics: tuple[int, ...]) -> OperatorInput:
    """`.serve 1,3`, `.serve all`, `.serve none`, or `.serve` alone (what is served now,
    `topics`)."""
    if not rest.strip():
        return OperatorInput(lines=(f"[You serve {topics_text(topics)}.]",))
    chosen = parse_topics(rest)
    if chosen is None:
        return OperatorInput(
            lines=("[Usage: .serve 1,3 (topic numbers 1 to 6), .serve all or .serve none.]",)
        )
    return OperatorInput(message=DeskServe(make_id(), chosen))


def is_operator_command(line: str) -> bool:
    """Whether `line` is one of the operator's desk commands (for the registry console,
    which routes such lines to the desk)."""
    word = line.strip().partition(" ")[0].lower()
    return word in (".room", ".end", ".serve", ".first", ".help")
