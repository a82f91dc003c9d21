"""Join, Leave, RoomsRequest, SetTopic; a room's history replayed to whoever joins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from registry.core.actions import Addr, Emit, KeepHistory, Log, SaveTable
from registry.core.pushes import Flight
from registry.core.requests import Request
from registry.core.rooms import MAX_MEMBERS, MAX_ROOMS, Room, Rooms
from registry.core.services import Services
from registry.core.table import Record
from wire.limits import MAX_FAREWELL
from wire.messages import Join, Leave, RoomList, RoomMessage, RoomNotice, RoomsRequest, SetTopic
from wire.names import name_key, name_problem

#: Most names listed in the line a peer sees on joining a room.
JOIN_NAMES_SHOWN = 10


class RoomRequests:
    """The rooms of the table's records (`rooms`)."""

    def __init__(self, services: Services, histories: Mapping[str, Sequence[RoomMessage]]) -> None:
        """`histories` (by room key) were loaded: the rooms someone is in get theirs back,
        the others' are set aside."""
        self._s = services
        self.rooms = Rooms.restore(services.table.records.values())
        emptied = []
        for key, history in histories.items():
            room = self.rooms.rooms.get(key)
            if room is not None:
                room.read_back(history)
            elif history:
                emptied.append((history[-1].stamp, key, history))
        for _, key, history in sorted(emptied):
            self.rooms.set_aside(key, history)
        # replays of a history by address: the member, and the ids of the lines not acked
        self._replays: dict[Addr, tuple[Record, set[str]]] = {}

    def join(self, msg: Join, req: Request, record: Record, now: float, emit: Emit) -> None:
        if not self._may_join(msg, req, record, emit):
            return
        left = self.leave_room(record, now, emit, "")
        room = self.rooms.enter(record, msg.room)
        # rooms survive a restart; the ack waits for the disk
        emit(SaveTable((name_key(record.name),)))
        others = [m.name for m in room.others(record)]
        shown = ", ".join(others[:JOIN_NAMES_SHOWN])
        if len(others) > JOIN_NAMES_SHOWN:
            shown += f" and {len(others) - JOIN_NAMES_SHOWN} more"
        alone = " (nobody else is in it)" if room.history else " (a new room)"
        joined = "You joined" if left is None else f"You left {left.name} and joined"
        text = f"{joined} {room.name}" + (f" with {shown}" if others else alone)
        self.notice_to(record, room, text, now, emit)
        if room.topic is not None:
            self.notice_to(record, room, f"Topic of {room.name}: {room.topic.text}", now, emit)
        if self.rooms.missed(record, room) > len(room.history):
            more = (
                f"More was said in {room.name} while you were away than the "
                f"{len(room.history)} lines it keeps"
            )
            self.notice_to(record, room, more, now, emit)
        self.replay(record, room, now, emit)
        # the ack last: the lines typed after the join are carried out on it
        self._s.answers.done(req, emit)
        self.notice(room, record, f"{record.name} joined {room.name}", now, emit)
        emit(Log(f"{record.name} joined room {room.name} ({len(room.members)} in it)"))

    def leave(self, msg: Leave, req: Request, record: Record, now: float, emit: Emit) -> None:
        """The sender leaves its room (in none, the registry restarted: acked all the same)."""
        self.leave_room(record, now, emit, "")
        self._s.answers.done(req, emit)

    def set_topic(
        self, msg: SetTopic, req: Request, record: Record, now: float, emit: Emit
    ) -> None:
        room = self.rooms.of(record)
        what = f"topic from {record.name}"
        if room is None or name_key(room.name) != name_key(msg.room):
            reason = (f"You are not in {msg.room or 'a room'}.", "not in the room")
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
        self._s.answers.done(req, emit)
        line = f"{record.name} set the topic of {room.name}: {text}"
        self.notice(room, record, line, now, emit)
        emit(Log(line))

    def listing(self, msg: RoomsRequest, req: Request, now: float, emit: Emit) -> None:
        rows = self.rooms.listing()
        names, counts = tuple(n for n, _ in rows), tuple(c for _, c in rows)
        topics = tuple(
            room.topic.text if (room := self.rooms.get(n)) and room.topic else "" for n in names
        )
        self._s.answers.reply(req, emit, RoomList, names, counts, topics)

    def leave_room(self, record: Record, now: float, emit: Emit, why: str | None) -> Room | None:
        """Take `record` out of its room; the members are told, with `why` (None: nothing)."""
        room = self.rooms.leave(record)
        if room is None:
            return None
        emit(SaveTable((name_key(record.name),)))
        for key in self.rooms.forgotten():
            emit(KeepHistory(key))
        if why is not None:
            text = f"{record.name} left {room.name}" + (f" ({why})" if why else "")
            self.notice(room, record, text, now, emit)
        emit(Log(f"{record.name} left room {room.name} ({len(room.members)} in it)"))
        return room

    def notice(self, room: Room, about: Record, text: str, now: float, emit: Emit) -> None:
        for member in room.others(about):
            self.notice_to(member, room, text, now, emit)

    def restart(self, now: float, emit: Emit) -> None:
        """The registry starts: the histories on disk no longer kept (past rooms.KEPT_EMPTIED)
        go; replays cut short by its stop (Record.replaying) start again."""
        for key in self.rooms.forgotten():
            emit(KeepHistory(key))
        for record in self._s.table.online():
            room = self.rooms.of(record)
            if record.replaying and room is not None:
                ids = [line.id for line in room.history]  # up to the one replayed last
                upto = ids.index(record.replaying) + 1 if record.replaying in ids else 0
                lines = list(room.history)[:upto]
                if lines:
                    line = f"replaying {room.name}'s history to {record.name} again (in case"
                    emit(Log(f"{line} the stop cut its replay short)"))
                self.replay(record, room, now, emit, lines)

    def replay(
        self,
        record: Record,
        room: Room,
        now: float,
        emit: Emit,
        lines: list[RoomMessage] | None = None,
    ) -> None:
        """Push `room`'s history (or `lines` of it) to `record`, kept `replaying`."""
        lines = list(room.history) if lines is None else lines
        for old in lines:
            # under the line's own id, shown once; in the room's spelling now
            replay = RoomMessage(old.id, old.sender, room.name, old.text, old.stamp, True)
            self._s.pushes.push((record,), replay, "room", now, emit)
        for addr in [a for a, (r, _) in self._replays.items() if r is record]:
            del self._replays[addr]  # an earlier join's: this one's replay takes over
        record.replaying = lines[-1].id if lines else ""
        if lines:
            self._replays[record.addr] = (record, {m.id for m in lines})

    def acked(self, addr: Addr, answered: list[Flight]) -> None:
        """`addr` acked the pushes `answered`: a replay all acked is over."""
        if not (self._replays and answered and addr in self._replays):
            return
        record, owed = self._replays[addr]
        owed.difference_update([flight.message.id for flight in answered])
        if not owed:
            del self._replays[addr]
            record.replaying = ""

    def replays_over(self) -> None:
        for addr, (record, _) in list(self._replays.items()):
            if not (record.online and record.room and record.addr == addr):
                del self._replays[addr]
                record.replaying = ""

    @property
    def replaying(self) -> bool:
        return bool(self._replays)

    def _may_join(self, msg: Join, req: Request, record: Record, emit: Emit) -> bool:
        problem = name_problem(msg.room)
        what = f"join by {record.name}"
        if problem:
            reason = f"Cannot join {msg.room!r}: {problem} (room names follow the name rules)."
            self._s.answers.refuse(req, (reason, "bad room name"), what, emit)
            return False
        current = self.rooms.of(record)
        if current is not None and name_key(current.name) == name_key(msg.room):
            self._s.answers.ack(req, emit)  # a copy, or already there
            return False
        room = self.rooms.get(msg.room)
        if room is None and self.rooms.full():
            reason = f"There are already {MAX_ROOMS} rooms, the most there can be; join one."
            self._s.answers.refuse(req, reason, what, emit)
            return False
        if room is not None and len(room.members) >= MAX_MEMBERS:
            reason = f"{room.name} is full ({MAX_MEMBERS} members, the most a room holds)."
            self._s.answers.refuse(req, reason, what, emit)
            return False
        return True

    def notice_to(self, record: Record, room: Room, text: str, now: float, emit: Emit) -> None:
        notice = RoomNotice(self._s.answers.new_id(), room.name, text)
        self._s.pushes.push((record,), notice, "room", now, emit)
