"""What the person's client (`peer.desk.person.PersonCore`) knows as it runs, and what
each of its parts does alike: ending the run, the crisis notice, the held place to keep,
a desk message shown. The parts are layers over it: the form (`peer.desk.person_form`),
the connection lost and left (`peer.desk.person_link`), and the rest in
`peer.desk.person`.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from net.options import check_options
from peer.desk.actions import (
    LEAVE_TIMEOUT,
    RETRY_FIRST,
    RETRY_MAX,
    Action,
    Connect,
    DeskClientCore,
    ForgetPlace,
    KeepPlace,
    SetPrompt,
    Show,
    style_of,
)
from wire.desk.messages import HEARTBEAT, DeskMessage
from wire.desk.render import render_person
from wire.desk.text import CRISIS_TOPICS, DEFAULT_CRISIS_NOTICE, crisis_lines, speaks_of_crisis
from wire.reliable import IdMaker


class PersonOptions(TypedDict, total=False):
    """How a person's client runs, each with its default: `retry` (RETRY_FIRST,
    RETRY_MAX), the first and the longest wait between reconnection attempts;
    `leave_timeout` (LEAVE_TIMEOUT), how long a `.quit` waits for the desk's goodbye;
    `heartbeat` (HEARTBEAT): see `DeskClientCore`; `prompt` (False), whether lines are
    typed at a prompt (a terminal), into which a line too long to send is put back."""

    retry: tuple[float, float]
    leave_timeout: float
    heartbeat: float
    prompt: bool


class PersonState(DeskClientCore):
    """The person's client's state, and the helpers its layers share."""

    def __init__(
        self, ip: str, port: int, new_id: IdMaker, **options: Unpack[PersonOptions]
    ) -> None:
        """A run for the desk at `ip`:`port`, its messages' ids from `new_id`; `options`:
        see PersonOptions."""
        check_options("PersonCore", options, PersonOptions)
        super().__init__(
            ip,
            port,
            new_id,
            options.get("leave_timeout", LEAVE_TIMEOUT),
            options.get("heartbeat", HEARTBEAT),
        )
        self._prompt = options.get("prompt", False)
        self._retry_first, self._retry_max = options.get("retry", (RETRY_FIRST, RETRY_MAX))
        self.phase = "form"
        self._step = "name"  # of the form: name, phone, place (looked up), topic, description
        self._tries = 0  # of the topic menu
        # when the form stopped asking with questions left (a held place taken back, with
        # its topic): a line begun before then was typed for a question, never chat
        self._form_closed = float("-inf")
        self.name = self.phone = self.description = ""
        self.topic = 0
        self.token = ""
        self.grace = 0.0
        self._crisis = ""  # the crisis notice shown (the desk's, or the built-in one)
        self._desk_notice = False  # whether `_crisis` is the desk's own notice
        self._crisis_due: float | None = None  # the desk's notice is awaited until then
        self._unsent_crisis = ""  # words of crisis typed while no place was held yet
        self._sent_token = ""  # the token of the last DeskJoin: a place asked back
        self._position = -1
        self._operators = -1
        self._session = ""  # the session being served in (DeskServed), named by each line
        self._said: list[str] = []  # the lines sent in it, to tell which did not arrive
        self._refresh_at: float | None = None
        # reconnecting: when the place is given up, the wait before the next attempt and
        # when it is due (None while an attempt is under way)
        self._give_up_at = 0.0
        self._delay = self._retry_first
        self._retry_at: float | None = None
        # a reconnection is up but the desk has not answered its join yet: a desk that
        # accepts connections without answering (the registry stopped, its kernel still
        # accepting) is not back, and the grace period still runs from the first loss
        self._rejoining = False
        self._silence_told = False  # said once per loss that the desk accepts but is silent
        # leaving while reconnecting: a connection is made only to give the place up
        self._giving_up = False

    def _finish(self, code: int, out: list[Action]) -> None:
        """The run ends: forget the place, and show the crisis notice again to whoever
        came for topic 1."""
        if self._crisis_due is not None:  # the desk's notice did not come: this is the one
            self._crisis_due = None
            self._crisis = self._crisis or DEFAULT_CRISIS_NOTICE
        out.append(ForgetPlace())
        self._crisis_notice(out)
        self._end(code, out)

    def _bye(self, out: list[Action]) -> None:
        out.append(Show("[Bye.]"))
        self._end(0, out)

    def _crisis_notice(self, out: list[Action]) -> None:
        """The crisis notice, for someone who may be in danger: topic 1, or words that
        say so (in the description, or a line typed while waiting)."""
        if self.topic in CRISIS_TOPICS or self._crisis or speaks_of_crisis(self.description):
            out.extend(
                Show(line, "alert") for line in crisis_lines(self._crisis or DEFAULT_CRISIS_NOTICE)
            )

    def _owed_notice(self, out: list[Action]) -> None:
        """The built-in crisis notice, when the desk's was awaited and has not come."""
        if self._crisis_due is not None:
            self._crisis_due = None
            self._crisis = self._crisis or DEFAULT_CRISIS_NOTICE
            self._crisis_notice(out)

    def _keep_place(self) -> KeepPlace:
        return KeepPlace(self.token, self.topic, self.description, self.grace)

    @staticmethod
    def _show_rendered(message: DeskMessage, out: list[Action]) -> None:
        out.extend(Show(line, style_of(line)) for line in render_person(message))

    def _connect_first(self, out: list[Action]) -> None:
        self.phase = "connecting"
        out.append(SetPrompt("> "))
        out.append(Connect())
