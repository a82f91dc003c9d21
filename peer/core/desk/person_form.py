"""The form of `ChatApp -d`: name, mobile number, topic (and a description, for some)."""

from __future__ import annotations

from peer.core.desk.actions import Ask, Emit, FindPlace, KeepPlace, Show
from peer.core.desk.link import DeskPhase
from peer.core.desk.person_state import PersonState
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

#: The commands of a person who is waiting or served (.quit works at any time).
WAITING_COMMANDS = frozenset({".queue", ".help", ".end"})

QUESTIONS = {
    "name": "Name:",
    "phone": "Registered mobile number:",
    "topic": "Topic (1-6):",
    "description": "Description:",
}
QUITS = (".quit", ".exit")


class PersonForm:
    def __init__(self, s: PersonState) -> None:
        self.s = s

    def place_found(self, kept: KeepPlace | None, now: float, emit: Emit) -> None:
        """Taken back with its topic, or (None) the topic asked."""
        s = self.s
        if s.link.phase is not DeskPhase.FORM or s.step != "place":
            return
        if kept is None:
            s.step = "topic"
            for line in menu_lines():
                emit(Show(line))
            emit(Ask(QUESTIONS["topic"]))
            return
        s.token, s.topic, s.description = kept.token, kept.topic, kept.description
        s.grace = kept.grace
        s.form_closed = now
        had = f"You had a place in the waiting room a moment ago ({topic_label(s.topic)})"
        emit(Show(f"[{had}; taking it back, with its topic, so the topic is not asked again.]"))
        s.connect_first(emit)

    def answer_question(self, text: str, emit: Emit) -> None:
        """`.quit`, or the answer (a command answers nothing, and the question is asked again)."""
        answer = text.strip()
        if answer in QUITS:
            self.s.bye(emit)
            return
        if self.s.step == "place":  # the held place is being looked up: nothing is asked
            said = f"“{clean(answer)}”; nothing is asked right now"
            emit(Show(f"[Not taken as an answer: {said}.]", "error"))
            return
        if answer.startswith(".") and not answer.startswith(".."):
            # .queue, .help and the like mean nothing yet: not an answer, and not a try
            emit(Show(_no_command_yet(answer), "error"))
            emit(Ask(QUESTIONS[self.s.step]))
            return
        if answer.startswith(".."):
            answer, text = answer[1:], text.replace("..", ".", 1)  # a dot of the answer's own
        if self.s.step == "topic":
            self._topic_answer(text, emit)
            return
        why = self._take(answer, emit)
        if why is not None:
            emit(Show(f"[{why}]", "error"))
        if self.s.link.phase is DeskPhase.FORM and self.s.step != "place":
            emit(Ask(QUESTIONS[self.s.step]))  # the next question, or the same again

    def _take(self, answer: str, emit: Emit) -> str | None:
        """Taken as the name, the phone or the description; or why not."""
        if self.s.step == "name":
            why = name_problem(answer)
            if why is None:
                self.s.name = answer
                self.s.step = "phone"
            return why
        if self.s.step == "phone":
            why = phone_problem(answer)
            if why is None:
                self.s.phone = normalise_phone(answer) or answer
                self.s.step = "place"
                emit(FindPlace(self.s.phone))
            return why
        why = description_problem(self.s.topic, answer)  # the description
        if why is None:
            self.s.description = answer
            self.s.connect_first(emit)
        return why

    def _topic_answer(self, text: str, emit: Emit) -> None:
        """Taken, or asked again until MENU_TRIES wrong choices close the client."""
        if not text.strip():  # as at the other questions: asked again, and no try used
            emit(Ask(QUESTIONS["topic"]))
            return
        topic, why = topic_problem(text)
        if topic is None:
            self.s.tries += 1
            left = MENU_TRIES - self.s.tries
            more = f" {left} {'try' if left == 1 else 'tries'} left." if left else ""
            emit(Show(f"[{why}{more}]", "error"))
            if left:
                emit(Ask(QUESTIONS["topic"]))
            else:
                line = (
                    f"[No valid topic after {MENU_TRIES} tries, so the help desk client "
                    "closes. Start it again and type a number from 1 to 6.]"
                )
                emit(Show(line, "error"))
                self.s.link.end(1, emit)
            return
        self.s.topic = topic
        if topic in DESCRIBE_TOPICS:
            self.s.step = "description"
            emit(Show("[Please describe your problem in a sentence or two.]"))
            emit(Ask(QUESTIONS["description"]))
        else:
            self.s.connect_first(emit)

    def typed_for_it(self, line: str) -> str:
        return (
            f"[Not sent: “{clean(line.strip())}” was typed for the form, which asks nothing "
            f"more: the topic of your earlier place ({topic_label(self.s.topic)}) is kept.]"
        )


def _no_command_yet(answer: str) -> str:
    command = answer.split()[0][:20]
    if command.lower() in WAITING_COMMANDS:
        line = f"[{command} works once you are waiting; answer the question first"
    else:  # a typo, or an answer that starts with a dot
        line = f"[{command} is no command; to answer with it, type .{command}"
    return line + " (.quit leaves).]"
