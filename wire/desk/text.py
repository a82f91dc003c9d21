"""What the help desk says and accepts, shared by the registry and both clients."""

from __future__ import annotations

import math
import re
import unicodedata

from wire.desk.messages import (
    CRISIS_DESCRIPTION,
    CRISIS_TOPIC,
    CRISIS_WAITING,
    EST_KEPT,
    EST_NOBODY,
    EST_TYPICAL,
)
from wire.shown_text import clean, unsafe

# -- the menu ------------------------------------------------------------------------------

#: The six topics, by the number the person types.
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
#: Goodbyes: leaving the waiting room; a session's end, to the other side and to the person.
YOU_LEFT = "You left the waiting room."
ENDED = "{} ended the session."
ENDED_TO_PERSON = "{} ended the session. Take care."
#: How a refusal says an operator of that name is on duty already.
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
    """CRISIS_*, "" when nothing says so; the description says more."""
    if speaks_of_crisis(description):
        return CRISIS_DESCRIPTION
    return CRISIS_TOPIC if topic in CRISIS_TOPICS else ""


def stronger_crisis(first: str, second: str) -> str:
    """Of two CRISIS_* reasons, the one that says more."""
    order = ("", CRISIS_TOPIC, CRISIS_DESCRIPTION, CRISIS_WAITING)
    rank = {reason: index for index, reason in enumerate(order)}
    return max(first, second, key=lambda reason: rank.get(reason, 0))


#: Wrong menu choices allowed in all before the desk client closes: closing at the first
#: would punish a typo; three forgive it without letting a script loop forever.
MENU_TRIES = 3

#: Shown to a person who picks topic 1; the registry's operator may replace it.
DEFAULT_CRISIS_NOTICE = (
    "If you are in danger or might hurt yourself right now, call your local emergency "
    "number or go to the nearest emergency department. You do not have to wait here."
)

# -- limits (docs/PROTOCOL.md: every limit is a named constant) ----------------------------

#: Longest person's name: a full name ("Name: Your full name"), not a ChatApp peer name.
MAX_PERSON_NAME = 64
#: Longest topic description: "a short description", one line.
MAX_DESCRIPTION = 300
#: Longest line in a session; longer lines are refused with a message, nothing is cut.
MAX_DESK_LINE = 2000
#: Most lines of crisis typed while waiting kept for the operator, and most characters in
#: all: the earliest are kept (they raised the alarm); the bound keeps memory bounded.
MAX_SAID_LINES = 10
MAX_SAID_CHARS = 4000
#: Characters of a line too long to send quoted when it cannot be put back in the prompt:
#: enough to find it again in what was typed or piped.
TOO_LONG_QUOTE = 60
#: Longest crisis notice the registry accepts from its configuration.
MAX_CRISIS_NOTICE = 1000
#: Most lines of a crisis notice shown (a notice is a few lines: whom to call, and when).
MAX_CRISIS_LINES = 12


def description_problem(topic: int, text: str) -> str | None:
    """Why `text` cannot describe a problem of `topic`, or None: a topic of DESCRIBE_TOPICS
    needs a few words, and no description is over MAX_DESCRIPTION characters."""
    if topic in DESCRIBE_TOPICS and not text.strip():
        return "Please write a few words."
    if len(text) > MAX_DESCRIPTION:
        return f"Please keep it to {MAX_DESCRIPTION} characters at most; yours has {len(text)}."
    return None


def clean_crisis_notice(text: str) -> str:
    """The crisis notice configured, made safe and cut to the limits; "" leaves the default."""
    return "\n".join(_notice_lines(text)[:MAX_CRISIS_LINES])[:MAX_CRISIS_NOTICE]


def crisis_notice_problem(text: str) -> str | None:
    """Why `text` cannot be the crisis notice whole (a cut could fall inside a phone number), or
    None."""
    lines = _notice_lines(text)
    if len(lines) > MAX_CRISIS_LINES:
        return f"has at most {MAX_CRISIS_LINES} lines; yours has {len(lines)}"
    if (size := len("\n".join(lines))) > MAX_CRISIS_NOTICE:
        return f"has at most {MAX_CRISIS_NOTICE} characters; yours has {size}"
    return None


def _notice_lines(text: str) -> list[str]:
    return [line for line in (clean(line.strip()) for line in text.splitlines()) if line]


def crisis_lines(text: str) -> list[str]:
    """The lines shown for a crisis notice (the default when empty)."""
    lines = _notice_lines(text) or DEFAULT_CRISIS_NOTICE.splitlines()
    return [f"!!! {line}" for line in lines[:MAX_CRISIS_LINES]]


def topic_label(topic: int) -> str:
    name = TOPICS.get(topic)
    return f"{topic} {name}" if name else f"topic {topic}"


def menu_lines() -> list[str]:
    lines = ["Pick the topic that fits your problem best:"]
    for number, name in TOPICS.items():
        hint = " (you will be asked to describe it)" if number in DESCRIBE_TOPICS else ""
        lines.append(f"  {number}. {name}{hint}")
    return lines


def topic_problem(text: str) -> tuple[int, None] | tuple[None, str]:
    choice = text.strip()
    if not choice.isdigit() or not choice.isascii() or int(choice) not in TOPICS:
        shown = clean(choice)[:20]
        return None, f"'{shown}' is not a topic: type a number from 1 to {len(TOPICS)}."
    return int(choice), None


# -- text that comes from the network ------------------------------------------------------


def name_problem(name: str) -> str | None:
    # the joiners and marks some scripts need (Persian's zero-width non-joiner) are allowed;
    # what could drive a terminal is not, nor a name of nothing visible
    if not any(unicodedata.category(ch)[0] in _VISIBLE for ch in name):
        return "Please type your name."
    if len(name) > MAX_PERSON_NAME:
        return f"A name has at most {MAX_PERSON_NAME} characters."
    if any(unsafe(ch) or unicodedata.category(ch) == "Cs" for ch in name):
        return "A name cannot hold control characters."
    return None


#: Unicode major categories that show something by themselves.
_VISIBLE = frozenset("LNPS")


# -- durations and estimates ---------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """`45 s`, `2 min 05 s` or `1 h 03 min`."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def format_estimate(kind: str, low: int, high: int) -> str:
    """`8-23 min, from a typical session length`, or why there is no figure."""
    if kind == EST_NOBODY:
        return "unknown until an operator for this topic is on duty"
    if kind == EST_KEPT:
        return (
            "your conversation resumes as soon as the operator who was serving you is back "
            f"(kept for you for up to {format_duration(max(0, high))})"
        )
    source = (
        "from a typical session length" if kind == EST_TYPICAL else "measured from recent sessions"
    )
    return f"{_minutes(low, high)}, {source}"


def _minutes(low: int, high: int) -> str:
    low, high = max(0, low), max(0, low, high)
    if high < 60:
        return "less than a minute"
    low_min, high_min = (math.floor(seconds / 60 + 0.5) for seconds in (low, high))  # rounded
    high_min = max(low_min, high_min, 1)
    return f"about {low_min} min" if low_min == high_min else f"{low_min}-{high_min} min"


def too_long_line(text: str, *, in_prompt: bool) -> str:
    """What is said of a line over MAX_DESK_LINE, not sent."""
    said = f"[Not sent: the line has {len(text)} characters, and at most {MAX_DESK_LINE} go in one."
    if in_prompt:
        return f"{said} It is back in the prompt: shorten or split it, then press Enter.]"
    return f"{said} It began: {clean(text[:TOO_LONG_QUOTE])}...]"


def keep_said(said: tuple[str, ...], line: str) -> tuple[str, ...]:
    """`said` with `line` after it when that fits: the earliest lines are kept."""
    if len(said) >= MAX_SAID_LINES or sum(map(len, said)) + len(line) > MAX_SAID_CHARS:
        return said
    return (*said, line)


def topics_text(topics: tuple[int, ...]) -> str:
    if not topics:
        return "no topics"
    if set(topics) >= set(TOPICS):
        return "all topics"
    return "topics " + ", ".join(topic_label(t) for t in topics)
