"""SetTopic: a room's topic, said to its members, told to each who joins (RoomRequests.join),
listed by `rooms`, and kept with the room's history."""

from __future__ import annotations

from registry.core.actions import Emit, KeepHistory, Log
from registry.core.authority import Claim
from registry.core.requests import Reason, Request
from registry.core.services import Members, Services
from wire.limits import MAX_FAREWELL
from wire.messages import RoomMessage, SetTopic
from wire.names import name_key


class Topics:
    """The topics of the rooms of `rooms`."""

    def __init__(self, services: Services, rooms: Members) -> None:
        self._s = services
        self._rooms = rooms

    def set(self, msg: SetTopic, req: Request, now: float, emit: Emit) -> None:
        """A member sets its room's topic: kept, and said to the other members."""
        record = self._s.authority.member(req, Claim(msg.name, msg.token, "topic"), emit)
        if record is None or self._s.done.copy(req, emit):
            return
        room = self._rooms.rooms.of(record)
        what = f"topic from {record.name}"
        if room is None or name_key(room.name) != name_key(msg.room):
            reason = Reason(f"You are not in {msg.room or 'a room'}.", "not in the room")
            self._s.answers.refuse(req, reason, what, emit)
            return
        text = " ".join(msg.text.split())
        if not text or len(text) > MAX_FAREWELL:
            long = f"A topic is one line of at most {MAX_FAREWELL} characters."
            self._s.answers.refuse(req, long, what, emit)
            return
        said = self._s.stamp(now)
        room.topic = RoomMessage(msg.id, record.name, room.name, text, said, True, topic=True)
        emit(KeepHistory(name_key(room.name), room.kept(topic_new=True)))
        self._s.done.done(req, emit)
        line = f"{record.name} set the topic of {room.name}: {text}"
        self._rooms.notice(room, record, line, now, emit)
        emit(Log(line))
