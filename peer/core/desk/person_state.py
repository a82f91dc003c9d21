"""What the person's client knows as it runs, the form it fills (name, mobile number, topic,
and a description for some), and what its parts do alike."""

from __future__ import annotations

from peer.core.desk.actions import Connection, Emit, FindPlace, KeepPlace, Show
from peer.core.desk.link import DeskLink, DeskPhase
from wire.desk.phone import normalise_phone, phone_problem
from wire.desk.text import (
    CRISIS_TOPICS,
    DEFAULT_CRISIS_NOTICE,
    DESCRIBE_TOPICS,
    MENU_TRIES,
    crisis_lines,
    description_problem,
    menu_lines,
    name_problem,
    speaks_of_crisis,
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


class PersonState:
    def __init__(self, link: DeskLink) -> None:
        self.link = link
        link.go(DeskPhase.FORM)
        # -- the form: its step (name, phone, place (looked up), topic, description), and
        # when it stopped asking with questions left (a held place taken back): a line begun
        # before then was typed for a question, never chat
        self.step = "name"
        self.tries = 0
        self.form_closed = float("-inf")
        self.name = self.phone = self.description = ""
        self.topic = 0
        # the `Probe` of the start is not answered yet; the input ended meanwhile
        self.probing = True
        self.input_ended = False
        # -- the place, and the crisis notice
        self.token = ""
        self.grace = 0.0
        self.crisis = ""  # the crisis notice shown (the desk's, or the built-in one)
        self.desk_notice = False  # whether `crisis` is the desk's own notice
        self.crisis_due: float | None = None  # the desk's notice is awaited until then
        self.unsent_crisis = ""  # words of crisis typed while no place was held yet
        self.sent_token = ""  # the token of the last DeskJoin: a place asked back
        self.position = -1
        self.operators = -1
        self.session = ""  # the session being served in (DeskServed), named by each line
        self.said: list[str] = []  # the lines sent in it, to tell which did not arrive
        self.refresh_at: float | None = None  # of the held-place file (REFRESH)
        self.give_up_at = 0.0  # reconnecting: when the place is given up
        # a reconnection is up but the desk has not answered its join yet: a desk that
        # accepts connections without answering (the registry stopped, its kernel still
        # accepting) is not back, and the grace period still runs from the first loss
        self.rejoining = False
        self.silence_told = False  # said once per loss that the desk accepts but is silent
        # leaving while reconnecting: a connection is made only to give the place up
        self.giving_up = False

    def finish(self, code: int, emit: Emit) -> None:
        """Forget the place, and show the crisis notice again to who may be in danger."""
        emit(KeepPlace())
        if self.crisis_due is not None:
            self.owed_notice(emit)
        else:
            self.crisis_notice(emit)
        self.link.end(code, emit)

    def bye(self, emit: Emit) -> None:
        emit(Show("[Bye.]"))
        self.link.end(0, emit)

    def crisis_notice(self, emit: Emit) -> None:
        if self.topic in CRISIS_TOPICS or self.crisis or speaks_of_crisis(self.description):
            notice = self.crisis or DEFAULT_CRISIS_NOTICE
            for line in crisis_lines(notice):
                emit(Show(line, "alert"))

    def owed_notice(self, emit: Emit) -> None:
        """The built-in crisis notice, now: none of the desk's came in time (or at all)."""
        self.crisis_due = None
        self.crisis = self.crisis or DEFAULT_CRISIS_NOTICE
        self.crisis_notice(emit)

    def keep_place(self) -> KeepPlace:
        return KeepPlace(self.token, self.topic, self.description, self.grace)

    def connect_first(self, emit: Emit) -> None:
        self.link.go(DeskPhase.CONNECTING)
        emit(Show("> ", "prompt"))
        emit(Connection.OPEN)

    def place_found(self, kept: KeepPlace | None, now: float, emit: Emit) -> None:
        """Taken back with its topic, or (None) the topic asked."""
        s = self
        if s.link.phase is not DeskPhase.FORM or s.step != "place":
            return
        if kept is None:
            s.step = "topic"
            for line in menu_lines():
                emit(Show(line))
            emit(Show(QUESTIONS["topic"], "question"))
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
            self.bye(emit)
            return
        if self.step == "place":  # the held place is being looked up: nothing is asked
            said = f"“{clean(answer)}”; nothing is asked right now"
            emit(Show(f"[Not taken as an answer: {said}.]", "error"))
            return
        if answer.startswith(".") and not answer.startswith(".."):
            # .queue, .help and the like mean nothing yet: not an answer, and not a try
            emit(Show(_no_command_yet(answer), "error"))
            emit(Show(QUESTIONS[self.step], "question"))
            return
        if answer.startswith(".."):
            answer, text = answer[1:], text.replace("..", ".", 1)  # a dot of the answer's own
        if self.step == "topic":
            self._topic_answer(text, emit)
            return
        why = self._take(answer, emit)
        if why is not None:
            emit(Show(f"[{why}]", "error"))
        if self.link.phase is DeskPhase.FORM and self.step != "place":
            emit(Show(QUESTIONS[self.step], "question"))  # the next question, or the same again

    def _take(self, answer: str, emit: Emit) -> str | None:
        """Taken as the name, the phone or the description; or why not."""
        if self.step == "name":
            why = name_problem(answer)
            if why is None:
                self.name = answer
                self.step = "phone"
            return why
        if self.step == "phone":
            why = phone_problem(answer)
            if why is None:
                self.phone = normalise_phone(answer) or answer
                self.step = "place"
                emit(FindPlace(self.phone))
            return why
        why = description_problem(self.topic, answer)  # the description
        if why is None:
            self.description = answer
            self.connect_first(emit)
        return why

    def _topic_answer(self, text: str, emit: Emit) -> None:
        """Taken, or asked again until MENU_TRIES wrong choices close the client."""
        if not text.strip():  # as at the other questions: asked again, and no try used
            emit(Show(QUESTIONS["topic"], "question"))
            return
        topic, why = topic_problem(text)
        if topic is None:
            self.tries += 1
            left = MENU_TRIES - self.tries
            more = f" {left} {'try' if left == 1 else 'tries'} left." if left else ""
            emit(Show(f"[{why}{more}]", "error"))
            if left:
                emit(Show(QUESTIONS["topic"], "question"))
            else:
                line = (
                    f"[No valid topic after {MENU_TRIES} tries, so the help desk client "
                    "closes. Start it again and type a number from 1 to 6.]"
                )
                emit(Show(line, "error"))
                self.link.end(1, emit)
            return
        self.topic = topic
        if topic in DESCRIBE_TOPICS:
            self.step = "description"
            emit(Show("[Please describe your problem in a sentence or two.]"))
            emit(Show(QUESTIONS["description"], "question"))
        else:
            self.connect_first(emit)

    def typed_for_it(self, line: str) -> str:
        return (
            f"[Not sent: “{clean(line.strip())}” was typed for the form, which asks nothing "
            f"more: the topic of your earlier place ({topic_label(self.topic)}) is kept.]"
        )


def _no_command_yet(answer: str) -> str:
    command = answer.split()[0][:20]
    if command.lower() in WAITING_COMMANDS:
        line = f"[{command} works once you are waiting; answer the question first"
    else:  # a typo, or an answer that starts with a dot
        line = f"[{command} is no command; to answer with it, type .{command}"
    return line + " (.quit leaves).]"
