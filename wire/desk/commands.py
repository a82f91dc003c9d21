"""An operator's command line (`DutyScreen`), shared by the registry's console and `ChatApp -o`."""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from wire.desk.messages import (
    DeskEnd,
    DeskEnded,
    DeskFirst,
    DeskLine,
    DeskLook,
    DeskMessage,
    DeskOnDuty,
    DeskServe,
    DeskSession,
)
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
    """What an operator's line means; `error`: not carried out."""

    message: DeskMessage | None = None
    lines: tuple[str, ...] = ()
    error: bool = False
    put_back: str = ""
    quit: bool = False


def parse_topics(text: str) -> tuple[int, ...] | None:
    """`1,3` / `1 3` / `all` / `none` as a sorted tuple, or None when invalid."""
    words = text.replace(",", " ").lower().split()
    if words == ["all"]:
        return ALL_TOPICS
    if words == ["none"]:
        return ()
    if not words or not all(w.isdigit() and w.isascii() and int(w) in TOPICS for w in words):
        return None
    return tuple(sorted({int(w) for w in words}))


def spaced_dot(text: str) -> str:
    """`. room` read as `.room`, as the waiting room's command is written with a space
    after its dot; any other text as it is."""
    if text.startswith(". ") and text[1:].strip():
        return "." + text[1:].lstrip()
    return text


def parse_operator_line(
    line: str,
    make_id: Callable[[], str],
    topics: tuple[int, ...],
    session: str,
    *,
    prompt: bool = False,
) -> OperatorInput:
    """What one typed line does, given the `topics` served and the `session` shown."""
    text = spaced_dot(line.rstrip("\r\n"))
    if not text.startswith(".") or text.startswith(".."):
        body = text[1:] if text.startswith("..") else text
        if len(body) > MAX_DESK_LINE:  # to shorten, not to type again
            said = too_long_line(body, in_prompt=prompt)
            return OperatorInput(lines=(said,), error=True, put_back=text if prompt else "")
        message = DeskLine(make_id(), "", body, session) if body.strip() else None
        return OperatorInput(message=message)
    word, _, rest = text.partition(" ")
    command = word.lower()
    if command == ".room":
        return OperatorInput(message=DeskLook(make_id()))
    if command == ".end":
        return OperatorInput(message=DeskEnd(make_id(), session))
    if command == ".help":
        return OperatorInput(lines=OPERATOR_HELP)
    if command in (".quit", ".exit"):
        return OperatorInput(quit=True)
    if command == ".first":
        return _first(rest.strip(), make_id)
    if command == ".serve":
        return _serve(rest, make_id, topics)
    return OperatorInput(lines=(f"[Unknown command {clean(word)[:20]}: .help lists them.]",))


def _first(who: str, make_id: Callable[[], str]) -> OperatorInput:
    if who.isdigit() and who.isascii() and int(who) >= 1:
        return OperatorInput(message=DeskFirst(make_id(), int(who)))
    if not who or who.lstrip("+-").isdigit() or len(who) > MAX_PERSON_NAME:
        return OperatorInput(
            lines=("[Usage: .first 3 (a number from the list .room shows) or .first Maria.]",)
        )
    return OperatorInput(message=DeskFirst(make_id(), 0, who))


def _serve(rest: str, make_id: Callable[[], str], topics: tuple[int, ...]) -> OperatorInput:
    if not rest.strip():
        return OperatorInput(lines=(f"[You serve {topics_text(topics)}.]",))
    chosen = parse_topics(rest)
    if chosen is None:
        return OperatorInput(
            lines=("[Usage: .serve 1,3 (topic numbers 1 to 6), .serve all or .serve none.]",)
        )
    return OperatorInput(message=DeskServe(make_id(), chosen))


def is_operator_command(line: str) -> bool:
    word = spaced_dot(line.strip()).partition(" ")[0].lower()
    return word in (".room", ".end", ".serve", ".first", ".help")


class DutyScreen:
    """The topics and the person served, and since when; `prompt`: a line not sent is put back."""

    def __init__(self, *, prompt: bool) -> None:
        self.prompt = prompt
        self.topics: tuple[int, ...] = ALL_TOPICS
        self.session = ""  # the session being served: its lines and `.end` name it
        self.serving = ""  # the name of the person served, "" for none
        self.switched_at = float("-inf")  # when the operator was shown so

    def heard(self, message: DeskMessage, now: float) -> bool:
        """Follow what the desk says of the topics and the person served: whether that person
        changed."""
        match message:
            case DeskOnDuty(topics=topics):
                self.topics = topics
            case DeskSession(session=session, name=name):
                return self.switch(session, name, now)
            case DeskEnded():
                return self.switch("", "", now)
        return False

    def switch(self, session: str, name: str, now: float) -> bool:
        if session == self.session:
            return False
        self.session, self.serving, self.switched_at = session, name, now
        return True

    def typed(self, line: str, begun: float, make_id: Callable[[], str]) -> OperatorInput:
        """A line or `.end` begun before a new person was shown is held back (not for a change to
        nobody)."""
        parsed = parse_operator_line(line, make_id, self.topics, self.session, prompt=self.prompt)
        message = parsed.message
        before = bool(self.session) and begun < self.switched_at
        if not before or not isinstance(message, DeskLine | DeskEnd):
            return parsed
        who = clean(self.serving)
        if isinstance(message, DeskEnd):
            said = (
                f"[.end not carried out: it was typed before {who} was handed over to you. "
                f".end again ends the session with {who}.]"
            )
            return OperatorInput(lines=(said,), error=True)
        if self.prompt:
            said = (
                f"[Not sent: you began this line before {who} was handed over to you. It is "
                f"back in the prompt: Enter sends it to {who}, or clear it.]"
            )
            return OperatorInput(lines=(said,), error=True, put_back=line)
        said = (
            f"[Not sent: this line was read before {who} was handed over to you; type it again "
            f"to send it to {who}. The line was: {clean(message.text)}]"
        )
        return OperatorInput(lines=(said,), error=True)
