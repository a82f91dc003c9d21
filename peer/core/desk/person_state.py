"""What the person's client knows as it runs, and what its parts do alike."""

from __future__ import annotations

from peer.core.desk.actions import Connect, Emit, ForgetPlace, KeepPlace, SetPrompt, Show
from peer.core.desk.link import DeskLink, DeskPhase
from wire.desk.text import CRISIS_TOPICS, DEFAULT_CRISIS_NOTICE, crisis_lines, speaks_of_crisis


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
        emit(ForgetPlace())
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
        emit(SetPrompt("> "))
        emit(Connect())
