"""SetAway: a peer marked away, with why, in its table row (pushed to every peer), until it
says it is back or goes offline (Presence)."""

from __future__ import annotations

from registry.core.actions import Emit, Log
from registry.core.authority import Claim
from registry.core.requests import Request
from registry.core.services import Services
from wire.limits import MAX_FAREWELL
from wire.messages import SetAway


class AwayMarks:
    """The away marks of the table's records."""

    def __init__(self, services: Services) -> None:
        self._s = services

    def set(self, msg: SetAway, req: Request, now: float, emit: Emit) -> None:
        """The sender is away, saying `msg.text` ("": back): its row changes for everyone."""
        record = self._s.authority.member(req, Claim(msg.name, msg.token, "away"), emit)
        if record is None or self._s.done.copy(req, emit):
            return
        text = " ".join(msg.text.split())
        if len(text) > MAX_FAREWELL:
            reason = f"Say why you are away in {MAX_FAREWELL} characters at most."
            self._s.answers.refuse(req, reason, f"away from {record.name}", emit)
            return
        if record.away != text:
            record.away = text
            self._s.feed.changed(record, now, emit)
            emit(Log(f"{record.name} is away: {text}" if text else f"{record.name} is back"))
        self._s.done.done(req, emit)
