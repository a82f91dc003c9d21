"""What the help desk says and accepts, shared by the registry, the operator and the person.

Pure functions over `wire.desk.messages` messages: the topic menu, the rules for phone numbers and
how they are masked, how durations and estimates read, how an operator's command line is
parsed, and how each desk message is shown to an operator or to a person. The registry's
console operator and `ChatApp -o` use the same parser and renderer, so they behave alike.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from wire.desk.messages import (
    CRISIS_DESCRIPTION,
    CRISIS_TOPIC,
    CRISIS_WAITING,
    EST_KEPT,
    EST_NOBODY,
    EST_TYPICAL,
    DeskCrisis,
    DeskEnd,
    DeskEnded,
    DeskFirst,
    DeskLine,
    DeskMessage,
    DeskNotice,
    DeskOnDuty,
    DeskPosition,
    DeskQueued,
    DeskQueueInfo,
    DeskRefused,
    DeskRoom,
    DeskRoomRequest,
    DeskServe,
    DeskServed,
    DeskSession,
)
from wire.shown_text import clean, pad, unsafe, width

# -- the menu ------------------------------------------------------------------------------

#: The seed's six topics, by the number the person types.
TOPICS: dict[int, str] = {
    1: "Depression",
    2: "Getting Differentiated by School",
    3: "Weak in Academics",
    4: "Suggestion for Abroad Studies",
    5: "Financial Suggestions",
    6: "Other",
}
ALL_TOPICS: tuple[int, ...] = tuple(TOPICS)
#: Topics after which the person is asked to describe the problem ("You May Need to Describe").
DESCRIBE_TOPICS = frozenset({3})
#: How a refusal says an operator of that name is on duty already (an operator client that
#: lost its connection tries again on this one: the desk has not yet seen the old one end).
ALREADY_ON_DUTY = "is already on duty"
#: Topics that get the crisis notice before anything else.
CRISIS_TOPICS = frozenset({1})
#: Words in a description that get the crisis notice too, whatever the topic: someone in
#: crisis may pick "Weak in Academics" and say the rest in the description.
CRISIS_WORDS = re.compile(
    r"\b(?:suicid\w*|kill(?:ing)? myself|kms|end(?:ing)? (?:my life|it all)|"
    r"take my (?:own )?life|self[- ]?harm\w*|(?:hurt|harm|cut)(?:ting)? myself|"
    r"(?:want to|wanna|going to) die|(?:don'?t|do not) want to (?:live|be alive)|"
    r"better off dead|no reason to live|overdos\w*)\b",
    re.IGNORECASE,
)


def speaks_of_crisis(text: str) -> bool:
    """Whether `text` (a description) holds words of someone who may be in danger."""
    return CRISIS_WORDS.search(text) is not None


#: Why someone may be in danger, as an operator reads it (wire.desk.messages CRISIS_*).
CRISIS_REASONS: dict[str, str] = {
    CRISIS_TOPIC: "chose topic 1",
    CRISIS_DESCRIPTION: "their description speaks of it",
    CRISIS_WAITING: "they wrote of it while waiting",
}
#: How a line about someone who may be in danger starts, to stand out among the others.
DANGER_MARK = "!!!"


def crisis_reason(topic: int, description: str) -> str:
    """Why a person joining for `topic` with `description` may be in danger (CRISIS_*),
    or "" when nothing says so: the description's words say more than the topic."""
    if speaks_of_crisis(description):
        return CRISIS_DESCRIPTION
    return CRISIS_TOPIC if topic in CRISIS_TOPICS else ""


def stronger_crisis(first: str, second: str) -> str:
    """Of two CRISIS_* reasons ("" for none), the one that says more: words typed while
    waiting, then a description, then a topic."""
    order = ("", CRISIS_TOPIC, CRISIS_DESCRIPTION, CRISIS_WAITING)
    rank = {reason: index for index, reason in enumerate(order)}
    return max(first, second, key=lambda reason: rank.get(reason, 0))


#: Wrong menu choices allowed in all before the desk client closes (the seed closes at once;
#: three tries forgive a typo without letting a script loop forever).
MENU_TRIES = 3

#: Shown to a person who picks topic 1; the registry's operator may replace it.
DEFAULT_CRISIS_NOTICE = (
    "If you are in danger or might hurt yourself right now, call your local emergency "
    "number or go to the nearest emergency department. You do not have to wait here."
)

# -- limits (DESIGN.md section 7: every limit is a named constant) -------------------------

#: Longest person's name: a full name ("Name: Your full name"), not a ChatApp peer name.
MAX_PERSON_NAME = 64
#: Longest topic description: "a short description", one line.
MAX_DESCRIPTION = 300
#: Longest line in a session; longer lines are refused with a message, nothing is cut.
MAX_DESK_LINE = 2000
#: Most lines of crisis typed while waiting that are kept for the operator who serves the
#: person, and most characters in all: the earliest are kept (they raised the alarm), and
#: the bound keeps someone typing on and on from growing the registry's memory, its file of
#: places and the operator's screen.
MAX_SAID_LINES = 10
MAX_SAID_CHARS = 4000
#: Characters of a line too long to send quoted when it cannot be put back in the prompt:
#: enough to find it again in what was typed or piped.
TOO_LONG_QUOTE = 60
#: Digits in a phone number: E.164 allows at most 15; 7 is the shortest local number.
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15
#: Longest crisis notice the registry accepts from its configuration.
MAX_CRISIS_NOTICE = 1000
#: Most lines of a crisis notice shown (a notice is a few lines: whom to call, and when).
MAX_CRISIS_LINES = 12


def clean_crisis_notice(text: str) -> str:
    """The crisis notice the registry sends for `text` from its configuration: each line
    made safe to show and stripped, empty lines dropped, at most MAX_CRISIS_LINES lines and
    MAX_CRISIS_NOTICE characters; empty when nothing is left (the default applies then)."""
    lines = [clean(line.strip()) for line in text.splitlines()]
    return "\n".join([line for line in lines if line][:MAX_CRISIS_LINES])[:MAX_CRISIS_NOTICE]


def crisis_notice_problem(text: str) -> str | None:
    """Why `text` cannot be the crisis notice whole (`clean_crisis_notice` would cut it,
    and a cut could fall in the middle of a phone number), or None when it can."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_CRISIS_LINES:
        return f"has at most {MAX_CRISIS_LINES} lines; yours has {len(lines)}"
    size = len("\n".join(clean(line.strip()) for line in lines))
    if size > MAX_CRISIS_NOTICE:
        return f"has at most {MAX_CRISIS_NOTICE} characters; yours has {size}"
    return None


def crisis_lines(text: str) -> list[str]:
    """The lines a person is shown for a crisis notice: one per line of it (a notice's
    line breaks are its author's, unlike those in a chat line), each marked `!!! `, so
    that no line of it can pass for anything else. An empty notice shows the default."""
    lines = [clean(line) for line in text.splitlines() if line.strip()]
    lines = lines or DEFAULT_CRISIS_NOTICE.splitlines()
    return [f"!!! {line}" for line in lines[:MAX_CRISIS_LINES]]


def topic_label(topic: int) -> str:
    """`3 Weak in Academics` for a known topic, `topic N` otherwise."""
    name = TOPICS.get(topic)
    return f"{topic} {name}" if name else f"topic {topic}"


def menu_lines() -> list[str]:
    """The topic menu as the person sees it."""
    lines = ["Pick the topic that fits your problem best:"]
    for number, name in TOPICS.items():
        hint = " (you will be asked to describe it)" if number in DESCRIBE_TOPICS else ""
        lines.append(f"  {number}. {name}{hint}")
    return lines


def topic_problem(text: str) -> tuple[int, None] | tuple[None, str]:
    """Parse a menu choice: (topic, None) when valid, else (None, a sentence saying why)."""
    choice = text.strip()
    if not choice.isdigit() or not choice.isascii() or int(choice) not in TOPICS:
        shown = clean(choice)[:20]
        return None, f"'{shown}' is not a topic: type a number from 1 to {len(TOPICS)}."
    return int(choice), None


# -- text that comes from the network ------------------------------------------------------


def name_problem(name: str) -> str | None:
    """Why `name` is not acceptable as a person's name, or None when it is."""
    # The joiners and marks some scripts need inside a name (Persian's zero-width non-joiner,
    # a right-to-left mark) are allowed; what could drive a terminal is not, nor a name of
    # nothing but invisible characters.
    if not any(unicodedata.category(ch)[0] in _VISIBLE for ch in name):
        return "Please type your name."
    if len(name) > MAX_PERSON_NAME:
        return f"A name has at most {MAX_PERSON_NAME} characters."
    if any(unsafe(ch) or unicodedata.category(ch) == "Cs" for ch in name):
        return "A name cannot hold control characters."
    return None


#: Unicode major categories that show something by themselves: letters, numbers, punctuation,
#: symbols.
_VISIBLE = frozenset("LNPS")


# -- phone numbers -------------------------------------------------------------------------

_PHONE_SHAPE = re.compile(r"\+?[0-9(][0-9 \-.()]*")
_TRUNK_ZERO = re.compile(r"^(\+\d{1,3})\s*\(0\)")


def normalise_phone(text: str) -> str | None:
    """The number in canonical form (an optional '+' then digits only), or None if `text`
    is not a valid number: 7-15 digits, an optional leading '+', and spaces, dashes, dots or
    brackets between them (`+1 (202) 555-0147`, `202.555.0147`). A trunk `(0)` after the
    country code (`+44 (0) 7700 900123`) is not dialled from abroad, so it is not kept."""
    stripped = text.strip()
    if not stripped.isascii() or not _PHONE_SHAPE.fullmatch(stripped):
        return None
    stripped = _TRUNK_ZERO.sub(r"\1", stripped)
    digits = "".join(ch for ch in stripped if ch.isdigit())
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS or _placeholder(digits):
        return None
    return ("+" if stripped.startswith("+") else "") + digits


#: Trailing digits that make two numbers the same number (see `phone_key`).
PHONE_KEY_DIGITS = 9


def phone_key(phone: str) -> str:
    """What makes two spellings of a number (each as `normalise_phone` gives it) one number:
    its last PHONE_KEY_DIGITS digits, or all of them when it has fewer. `+44 7700 900006`
    and `07700 900006` are one number: the country code and the trunk 0 differ only in how
    far away the caller dials from, never in the last nine digits."""
    return "".join(ch for ch in phone if ch.isdigit())[-PHONE_KEY_DIGITS:]


def _placeholder(digits: str) -> bool:
    """One digit over and over (`0000000`): typed to get past the question, and no number
    an operator could call back, nor one that tells two people apart."""
    return len(set(digits)) == 1


def phone_problem(text: str) -> str | None:
    """Why `text` is not a valid phone number (a sentence), or None when it is."""
    if normalise_phone(text) is not None:
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.strip().isascii() and _PHONE_SHAPE.fullmatch(text.strip()) and _placeholder(digits):
        return "Please give your real mobile number: the operator may need to call you back."
    return (
        f"A mobile number has {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits, with an "
        "optional leading '+'; spaces, dashes, dots and brackets are allowed (e.g. +44 7700 "
        "900123)."
    )


def mask_phone(phone: str) -> str:
    """The number with every digit but the last two hidden: `+44 7700 900123` -> `*********23`.

    The length of the mask follows the number of digits; the '+' is dropped so that the
    masked form is the same whichever way the number was typed.
    """
    digits = [ch for ch in phone if ch.isdigit()]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


#: A run of at least MIN_PHONE_DIGITS digits, with spaces, dashes, dots or brackets between.
_DIGIT_RUN = re.compile(r"\+?\d(?:[ \-.()/]*\d){%d,}" % (MIN_PHONE_DIGITS - 1))  # noqa: UP031


def mask_numbers(text: str) -> str:
    """`text` with every run of MIN_PHONE_DIGITS or more digits masked as `mask_phone`
    masks a number: for a person's name, which every operator sees, and which has no
    business holding a phone number, theirs or anyone's."""
    return _DIGIT_RUN.sub(lambda match: mask_phone(match.group()), text)


def scrub_phone(text: str, phone: str) -> str:
    """`text` with the person's own number masked wherever it appears.

    A run of digits counts as the number when its last seven digits are the number's last
    seven: that catches the number written with or without its country code or trunk '0'
    and with any separators. Other digit runs (dates, marks) are left alone. Used for
    everything written to logs and transcripts.
    """
    tail = "".join(ch for ch in phone if ch.isdigit())[-MIN_PHONE_DIGITS:]
    if len(tail) < MIN_PHONE_DIGITS:
        return text

    def mask(match: re.Match[str]) -> str:
        digits = "".join(ch for ch in match.group() if ch.isdigit())
        return mask_phone(digits) if digits.endswith(tail) else match.group()

    return _DIGIT_RUN.sub(mask, text)


# -- durations and estimates ---------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """`45 s`, `2 min 05 s` or `1 h 03 min`; negative values read as `0 s`."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


#: What follows a range, to say where it comes from: the typical session length the
#: registry was given, or the sessions it has measured (any other kind).
FROM_TYPICAL = "from a typical session length"
FROM_MEASURED = "measured from recent sessions"


def format_estimate(kind: str, low: int, high: int) -> str:
    """How an estimate reads: a range in minutes and where it comes from (`8-23 min, from
    a typical session length`), or why there is no figure. Each end is rounded to the
    nearest minute (rounding outwards would read 4 min 59 s to 5 min 01 s as "4-6 min");
    a later end never reads less than an earlier one, so an estimate that grows never
    reads shorter."""
    if kind == EST_NOBODY:
        return "unknown until an operator for this topic is on duty"
    if kind == EST_KEPT:
        return (
            "your conversation resumes as soon as the operator who was serving you is back "
            f"(kept for you for up to {format_duration(max(0, high))})"
        )
    source = FROM_TYPICAL if kind == EST_TYPICAL else FROM_MEASURED
    return f"{_minutes(low, high)}, {source}"


def _minutes(low: int, high: int) -> str:
    """`2-4 min`, `about 5 min` or `less than a minute`, for low..high seconds."""
    low, high = max(0, low), max(0, low, high)
    if high < 60:
        return "less than a minute"
    low_min = _whole_minutes(low)
    high_min = max(low_min, _whole_minutes(high), 1)
    if low_min == high_min:
        return f"about {low_min} min"
    return f"{low_min}-{high_min} min"


def _whole_minutes(seconds: int) -> int:
    """`seconds` to the nearest minute, halves up (so that rounding never goes down as
    the seconds go up, as banker's rounding would)."""
    return math.floor(seconds / 60 + 0.5)


def too_long_line(text: str, *, in_prompt: bool) -> str:
    """What is said of a line over MAX_DESK_LINE, which is not sent (nothing is cut: a cut
    could end mid-sentence, or mid-number). On a terminal (`in_prompt`) it is put back
    into the prompt, to be shortened or split rather than typed again; otherwise its start
    is quoted, to find it in what was typed or piped."""
    said = f"[Not sent: the line has {len(text)} characters, and at most {MAX_DESK_LINE} go in one."
    if in_prompt:
        return f"{said} It is back in the prompt: shorten or split it, then press Enter.]"
    return f"{said} It began: {clean(text[:TOO_LONG_QUOTE])}...]"


def keep_said(said: tuple[str, ...], line: str) -> tuple[str, ...]:
    """The lines of crisis typed while waiting, `said`, with `line` after them when it fits
    within MAX_SAID_LINES and MAX_SAID_CHARS; the earliest are kept, a later one that does
    not fit is left out (its words are in the alert and the log already)."""
    if len(said) >= MAX_SAID_LINES or sum(map(len, said)) + len(line) > MAX_SAID_CHARS:
        return said
    return (*said, line)


# -- the operator's command line -----------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class OperatorInput:
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


def topics_text(topics: tuple[int, ...]) -> str:
    """`all topics`, `no topics`, or `topics 1 Depression, 3 Weak in Academics`."""
    if not topics:
        return "no topics"
    if set(topics) >= set(TOPICS):
        return "all topics"
    return "topics " + ", ".join(topic_label(t) for t in topics)


def parse_operator_line(
    line: str,
    make_id: Callable[[], str],
    topics: tuple[int, ...],
    session: str,
    *,
    help_lines: tuple[str, ...] = OPERATOR_HELP,
) -> OperatorInput:
    """Turn one typed line into what to do. `topics` is what the operator serves now (for
    a bare `.serve`); `session`, the session shown when it was typed ("" for none), which
    a line or `.end` names; `help_lines`, what `.help` shows (the registry console has a
    command of its own). Never raises; a mistake gives lines explaining it."""
    text = line.rstrip("\r\n")
    if not text.startswith(".") or text.startswith(".."):
        body = text[1:] if text.startswith("..") else text
        if not body.strip():
            return OperatorInput()
        if len(body) > MAX_DESK_LINE:
            return OperatorInput(lines=(too_long_line(body, in_prompt=False),), too_long=True)
        return OperatorInput(message=DeskLine(make_id(), "", body, session))
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
        who = rest.strip()
        if who.isdigit() and who.isascii() and int(who) >= 1:
            return OperatorInput(message=DeskFirst(make_id(), int(who)))
        if not who or who.lstrip("+-").isdigit() or len(who) > MAX_PERSON_NAME:
            return OperatorInput(
                lines=("[Usage: .first 3 (a number from the list .room shows) or .first Maria.]",)
            )
        return OperatorInput(message=DeskFirst(make_id(), 0, who))
    if command == ".serve":
        if not rest.strip():
            return OperatorInput(lines=(f"[You serve {topics_text(topics)}.]",))
        chosen = parse_topics(rest)
        if chosen is None:
            return OperatorInput(
                lines=("[Usage: .serve 1,3 (topic numbers 1 to 6), .serve all or .serve none.]",)
            )
        return OperatorInput(message=DeskServe(make_id(), chosen))
    return OperatorInput(lines=(f"[Unknown command {clean(word)[:20]}: .help lists them.]",))


def is_operator_command(line: str) -> bool:
    """Whether `line` is one of the operator's desk commands (for the registry console,
    which routes such lines to the desk)."""
    word = line.strip().partition(" ")[0].lower()
    return word in (".room", ".end", ".serve", ".first", ".help")


# -- what each side sees -------------------------------------------------------------------


def render_operator(message: DeskMessage) -> list[str]:
    """The lines an operator sees for a message from the desk (none for unknown ones)."""
    match message:
        case DeskOnDuty(name=name, topics=topics, waiting=waiting, yours=yours):
            serving = topics_text(topics)
            lines = [
                f"[On duty as {clean(name)}, serving {serving}; {_waiting_for(yours, waiting)}.]"
            ]
            if not topics:
                lines.append("[You take nobody until you choose topics: .serve all or .serve 1,3.]")
            return lines
        case DeskSession() as s:
            lines = [
                f"[Now serving {clean(s.name)}, phone {clean(s.phone)}, topic "
                f"{topic_label(s.topic)}; waited {format_duration(s.waited)}.]"
            ]
            if s.crisis:
                why = CRISIS_REASONS.get(s.crisis, "words of crisis")
                lines.append(
                    f"[{DANGER_MARK} They may be in danger: {why}. They were shown the crisis "
                    "notice.]"
                )
            if s.description:
                lines.append(f"[Description: {clean(s.description)}]")
            for index, said in enumerate(s.said):
                lead = "They wrote while waiting" if index == 0 else "Then"
                lines.append(f"[{DANGER_MARK} {lead}: {clean(said)}]")
            lines.append("[Type to talk to them; .end ends the session.]")
            return lines
        case DeskLine(sender=sender, text=text):
            # the person's words of crisis stand out among their lines (see docs/DESK.md,
            # "Someone who may be in danger"): the operator reads them, but in a long
            # conversation a line can be read past
            line = f"{clean(sender)}: {clean(text)}"
            return [f"{DANGER_MARK} {line}" if speaks_of_crisis(text) else line]
        case DeskRoom() as room:
            return room_lines(room)
        case DeskEnded(reason=reason) | DeskRefused(reason=reason) | DeskNotice(text=reason):
            return [f"[{clean(reason)}]"]
    return []


def _waiting_for(yours: int, waiting: int) -> str:
    """`3 waiting` when all those waiting may be given to the operator, else both
    figures: those for its topics who are here, and everyone in the waiting room."""
    if yours == waiting:
        return f"{waiting} waiting"
    return f"{yours} waiting for you, {waiting} in the waiting room in all"


def room_lines(room: DeskRoom) -> list[str]:
    """The waiting room as a small table, in order."""
    if not room.names:
        return ["[The waiting room is empty.]"]
    count = len(room.names)
    lines = [f"[Waiting room: {count} {'person' if count == 1 else 'people'}]"]
    # columns, not characters: a name in Chinese or with an emoji is wider than its length
    names = [clean(n) for n in room.names]
    columns = max(width(n) for n in names)
    crisis = room.crisis + ("",) * (len(names) - len(room.crisis))
    kept_for = room.kept_for + ("",) * (len(names) - len(room.kept_for))
    kept_left = room.kept_left + (0,) * (len(names) - len(room.kept_left))
    rows = zip(names, room.topics, room.phones, room.waited, room.connected, crisis, strict=False)
    for position, (name, topic, phone, waited, connected, danger) in enumerate(rows, 1):
        held = "" if connected else "  (connection lost, place held)"
        if kept_for[position - 1]:
            # after a restart: nobody else takes them meanwhile, nor counts them as theirs
            operator, left = clean(kept_for[position - 1]), kept_left[position - 1]
            held += f"  (kept for {operator}, up to {format_duration(left)})"
        # the mark first, where the eye starts a row; the reason last, as "held" is
        mark = DANGER_MARK if danger else " " * len(DANGER_MARK)
        why = f"  (may be in danger: {_danger(danger)})" if danger else ""
        lines.append(
            f"{mark} {position:>2}. {pad(name, columns)}  {topic_label(topic):<36} "
            f"{pad(clean(phone), 16)} waited {format_duration(waited)}{held}{why}"
        )
    return lines


def _danger(reason: str) -> str:
    """A CRISIS_* reason in a few words, for a row of `.room`."""
    return {
        CRISIS_TOPIC: "topic 1",
        CRISIS_DESCRIPTION: "description",
        CRISIS_WAITING: "wrote of it while waiting",
    }.get(reason, "words of crisis")


def kept_place(topic: int, where: str) -> str:
    """What a person who took their place back is told first: the place and the topic are
    kept (so the topic is not asked again), and `where` they stand."""
    return (
        f"[Welcome back: your place was kept; {where}. Your topic is kept too: "
        f"{topic_label(topic)}.]"
    )


def render_person(message: DeskMessage) -> list[str]:
    """The lines a person asking for help sees for a message from the desk."""
    match message:
        case DeskCrisis(text=text):
            return crisis_lines(text)
        case DeskQueued() as q:
            lines = []
            if q.operators == 0:
                lines.append(
                    "[No operator is on duty for this topic right now. You may wait here and "
                    "keep your place, or type .quit to leave.]"
                )
            where = f"number {q.position} in the queue" + (
                ", you are next" if q.position == 1 else ""
            )
            if q.restored:
                lines.append(kept_place(q.topic, where))
            else:
                lines.append(f"[You are in the waiting room: {where}.]")
            lines.append(f"[Estimated wait: {format_estimate(q.est_kind, q.est_low, q.est_high)}.]")
            lines.append("[Type .queue to see where you stand, .quit to leave.]")
            return lines
        case DeskPosition() as p:
            estimate = format_estimate(p.est_kind, p.est_low, p.est_high)
            next_ = ": you are next" if p.position == 1 else ""
            return [
                f"[You are now number {p.position} in the queue{next_} (estimated wait: "
                f"{estimate}).]"
            ]
        case DeskQueueInfo() as i:
            ahead = (
                "Nobody is"
                if i.ahead == 0
                else f"{i.ahead} {'person is' if i.ahead == 1 else 'people are'}"
            )
            estimate = format_estimate(i.est_kind, i.est_low, i.est_high)
            return [
                f"[{ahead} ahead of you; you have waited {format_duration(i.waited)}; "
                f"estimated wait: {estimate}.]"
            ]
        case DeskServed(operator=operator):
            return [
                f"[It is your turn: you are talking to {clean(operator)}. Type a message and "
                "press Enter; .end ends the session.]"
            ]
        case DeskLine(sender=sender, text=text):
            return [f"{clean(sender)}: {clean(text)}"]
        case DeskEnded(reason=reason) | DeskRefused(reason=reason) | DeskNotice(text=reason):
            return [f"[{clean(reason)}]"]
    return []
