"""What the person at the desk (`PersonCore`) types: first the form (name, mobile number,
topic, and a description for some; a place held earlier is looked up by the number and
taken back with its topic), then commands and chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peer.core.desk.link import DeskPhase, Emit, FindPlace, KeepPlace, SendToDesk, Show
from wire.desk.commands import spaced_dot
from wire.desk.messages import DeskEnd, DeskLook
from wire.desk.phone import normalise_phone, phone_problem
from wire.desk.text import (
    DESCRIBE_TOPICS,
    MENU_TRIES,
    description_problem,
    menu_lines,
    name_problem,
    topic_label,
    topic_problem,
)
from wire.shown_text import clean

if TYPE_CHECKING:
    from peer.core.desk.person import PersonCore

#: The commands of a person who is waiting or served (.quit works at any time).
WAITING_COMMANDS = frozenset({".queue", ".help", ".end"})

QUESTIONS = {
    "name": "Name:",
    "phone": "Registered mobile number:",
    "topic": "Topic (1-6):",
    "description": "Description:",
}
QUITS = (".quit", ".exit")
PERSON_HELP = (
    "[.queue shows where you stand; .quit (or Ctrl-C) leaves;",
    " once you are served, type a message and press Enter; .end ends the session.]",
)


def ask(step: str) -> Show:
    return Show(QUESTIONS[step], "question")


def answer(p: PersonCore, text: str, emit: Emit) -> None:
    """`.quit`, or the answer (a command answers nothing, and the question is asked again)."""
    answer = text.strip()
    if answer in QUITS:
        p.bye(emit)
    elif p.step == "place":  # the held place is being looked up: nothing is asked
        said = f"“{clean(answer)}”; nothing is asked right now"
        emit(Show(f"[Not taken as an answer: {said}.]", "error"))
    elif answer.startswith(".") and not answer.startswith(".."):
        # .queue, .help and the like mean nothing yet: not an answer, and not a try
        command = answer.split()[0][:20]
        if command.lower() in WAITING_COMMANDS:
            line = f"[{command} works once you are waiting; answer the question first"
        else:  # a typo, or an answer that starts with a dot
            line = f"[{command} is no command; to answer with it, type .{command}"
        emit(Show(line + " (.quit leaves).]", "error"))
        emit(ask(p.step))
    elif p.step == "topic":
        _topic_answer(p, text.replace("..", ".", 1) if answer.startswith("..") else text, emit)
    else:
        why = _take(p, answer[1:] if answer.startswith("..") else answer, emit)
        if why is not None:
            emit(Show(f"[{why}]", "error"))
        if p.link.phase is DeskPhase.FORM and p.step != "place":
            emit(ask(p.step))  # the next question, or the same again


def place_found(p: PersonCore, kept: KeepPlace | None, now: float, emit: Emit) -> None:
    """Taken back with its topic, or (None) the topic asked."""
    if p.link.phase is not DeskPhase.FORM or p.step != "place":
        return
    if kept is None:
        p.step = "topic"
        for line in menu_lines():
            emit(Show(line))
        emit(ask("topic"))
        return
    p.token, p.topic, p.description, p.grace = kept.token, kept.topic, kept.description, kept.grace
    p.form_closed = now
    had = f"You had a place in the waiting room a moment ago ({topic_label(p.topic)})"
    emit(Show(f"[{had}; taking it back, with its topic, so the topic is not asked again.]"))
    p.connect_first(emit)


def _take(p: PersonCore, answer: str, emit: Emit) -> str | None:
    """Taken as the name, the phone or the description; or why not."""
    if p.step == "name":
        why = name_problem(answer)
        if why is None:
            p.name, p.step = answer, "phone"
    elif p.step == "phone":
        why = phone_problem(answer)
        if why is None:
            p.phone, p.step = normalise_phone(answer) or answer, "place"
            emit(FindPlace(p.phone))
    else:
        why = description_problem(p.topic, answer)
        if why is None:
            p.description = answer
            p.connect_first(emit)
    return why


def _topic_answer(p: PersonCore, text: str, emit: Emit) -> None:
    """Taken, or asked again until MENU_TRIES wrong choices close the client."""
    if not text.strip():  # as at the other questions: asked again, and no try used
        emit(ask("topic"))
        return
    topic, why = topic_problem(text)
    if topic is None:
        p.tries += 1
        left = MENU_TRIES - p.tries
        more = f" {left} {'try' if left == 1 else 'tries'} left." if left else ""
        emit(Show(f"[{why}{more}]", "error"))
        if left:
            emit(ask("topic"))
        else:
            line = (
                f"[No valid topic after {MENU_TRIES} tries, so the help desk client "
                "closes. Start it again and type a number from 1 to 6.]"
            )
            emit(Show(line, "error"))
            p.link.end(1, emit)
        return
    p.topic = topic
    if topic in DESCRIBE_TOPICS:
        p.step = "description"
        emit(Show("[Please describe your problem in a sentence or two.]"))
        emit(ask("description"))
    else:
        p.connect_first(emit)


def after_form(p: PersonCore, raw: str, now: float, emit: Emit, begun: float) -> None:
    """A line typed once the form is done: a command, or chat."""
    text = spaced_dot(raw.strip())
    command = text.lower()
    if command in QUITS:
        p.leave(now, emit)
    elif command == ".help":
        for said in PERSON_HELP:
            emit(Show(said))
    elif command == ".queue":
        _where(p, emit)
    elif command == ".end":
        if p.link.phase is DeskPhase.SERVED:
            emit(SendToDesk(DeskEnd(p.link.new_id(), p.session)))
        else:
            emit(Show("[You are not being served yet; .quit leaves the waiting room.]"))
    elif text.startswith(".") and not text.startswith(".."):
        emit(Show(f"[Unknown command {text.split()[0][:20]}; .help lists them.]"))
    elif begun < p.form_closed and text:
        # typed for a question the form skipped (the topic, say), before it said so
        kept = f"the topic of your earlier place ({topic_label(p.topic)}) is kept"
        said = f"“{clean(raw.strip())}” was typed for the form, which asks nothing more"
        emit(Show(f"[Not sent: {said}: {kept}.]", "error"))
    else:
        p.chat(raw[1:] if text.startswith("..") else raw, now, emit, raw)


def _where(p: PersonCore, emit: Emit) -> None:
    phase = p.link.phase
    if phase is DeskPhase.SERVED:
        emit(Show("[You are being served now.]"))
    elif phase is DeskPhase.WAITING:
        emit(SendToDesk(DeskLook(p.link.new_id())))
    elif phase is DeskPhase.RECONNECTING or p.rejoining:
        emit(Show("[Reconnecting to the help desk; your place is kept.]"))
    else:
        emit(Show("[One moment: joining the waiting room.]"))
