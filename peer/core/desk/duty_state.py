"""What the operator's client (`peer.core.desk.duty.OperatorCore`) knows as it runs: one
object, given to each of its parts (`peer.core.desk.duty_lines`, what the operator types;
`peer.core.desk.duty_desk`, what the desk says), with what both do alike."""

from __future__ import annotations

from peer.core.desk.actions import Emit, SetPrompt, Show
from peer.core.desk.link import ClientSettings, DeskLink
from wire.desk.messages import DeskServe
from wire.desk.text import ALL_TOPICS
from wire.refusals import RefusalCode

#: The prompt while no one is being served.
IDLE_PROMPT = "desk> "


class OperatorState:
    """The operator's client's data, given to every part of its core."""

    def __init__(self, link: DeskLink, name: str, key: str, settings: ClientSettings) -> None:
        self.link = link
        link.phase = "connecting"
        self.name = name
        self.key = key
        self.prompt = settings.prompt
        self.serve_when_asked = settings.serve_when_asked
        self.topics: tuple[int, ...] = ALL_TOPICS
        self.on_duty = False  # went on duty in this run (the first DeskOnDuty came)
        self.refused_code: RefusalCode | None = None  # what the desk's last refusal meant
        self.reconnecting = False
        self.refusal = ""  # the last refusal shown while reconnecting (shown once)
        self.session = ""  # the session being served: its lines and `.end` name it
        self.serving = ""  # the name of the person served, "" for none
        self.switched_at = float("-inf")  # when the operator was shown so (`held_back`)
        # the `.serve` typed before on duty, as line and message (`early_topics`)
        self.pending: tuple[str, DeskServe] | None = None
        self.hint_due = False  # "[.help lists the commands.]" not said yet

    def switch(self, session: str, name: str, prompt: str, now: float, emit: Emit) -> None:
        """Another session (or none) from now on, with `name`, shown at `now` (the lines
        that say so go out with these actions): what was begun before it is held back (see
        `OperatorLines.held_back`)."""
        if session == self.session:
            return
        self.session, self.serving = session, name
        self.switched_at = now
        emit(SetPrompt(prompt))

    def leave(self, now: float, emit: Emit) -> None:
        """Go off duty (a session in progress ends; its person is told) and say so."""
        if self.link.up:
            emit(self.link.leave(now))
        else:
            self.off_duty(emit)

    def off_duty(self, emit: Emit) -> None:
        """The run ends, off duty."""
        emit(Show("[You are off duty.]"))
        self.link.end(0, emit)
