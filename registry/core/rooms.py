"""Who is in which room (a Record carries its room), and each room's recent lines."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable

from msgspec import Struct, field

from registry.core.table import Record
from wire.messages import RoomMessage
from wire.names import name_key

#: Messages each room keeps for newcomers: a screenful.
ROOM_HISTORY = 20

#: Rooms at most: bounds the memory, and keeps the answer to `rooms` to one frame.
MAX_ROOMS = 100
#: Members a room holds at most: a join beyond is refused, and nobody already in is moved.
MAX_MEMBERS = 200

#: Emptied rooms whose history is kept for when the room is made again.
KEPT_EMPTIED = MAX_ROOMS

#: Members remembered as away from a room, to tell one back whether more was said meanwhile
#: than the room keeps.
AWAY_KEPT = 10_000


class Room(Struct):
    """One room: its name as first spelled, its members in joining order, its history."""

    name: str
    members: list[Record] = field(default_factory=list)
    history: deque[RoomMessage] = field(default_factory=lambda: deque(maxlen=ROOM_HISTORY))
    #: lines said in the room as far as this registry knows
    said: int = 0
    topic: RoomMessage | None = None

    def others(self, record: Record) -> list[Record]:
        return [m for m in self.members if m is not record]

    def keep(self, line: RoomMessage) -> None:
        self.history.append(line)
        self.said += 1

    def holds(self, line_id: str) -> bool:
        return any(line.id == line_id for line in self.history)

    def read_back(self, history: Iterable[RoomMessage]) -> None:
        """The room's history as kept on disk, oldest first."""
        for line in history:
            if line.topic:
                self.topic = line
            else:
                self.history.append(line)
        self.said = len(self.history)

    def kept(self, *, topic_new: bool = False) -> tuple[RoomMessage, ...]:
        """What is kept of the room: its history and its topic, the newest line last."""
        topic = () if self.topic is None else (self.topic,)
        return (*self.history, *topic) if topic_new else (*topic, *self.history)


class Rooms:
    """Every room, by the case-insensitive key of its name."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        # emptied rooms with a history, by key, the one emptied last at the end
        self.emptied: OrderedDict[str, Room] = OrderedDict()
        self._forgotten: list[str] = []  # keys of histories no longer kept (see `forgotten`)
        # name key -> (key of the room it left, the room's `said` then): see `missed`
        self._away: OrderedDict[str, tuple[str, int]] = OrderedDict()

    @classmethod
    def restore(cls, records: Iterable[Record]) -> Rooms:
        """The rooms the `room` of each of `records` names (beyond MAX_ROOMS, none)."""
        rooms = cls()
        for record in records:
            if record.room:
                if rooms.get(record.room) is None and rooms.full():
                    record.room = ""
                else:
                    rooms.enter(record, record.room)
        return rooms

    def get(self, name: str) -> Room | None:
        return self.rooms.get(name_key(name))

    def of(self, record: Record) -> Room | None:
        return self.get(record.room) if record.room else None

    def full(self) -> bool:
        return len(self.rooms) >= MAX_ROOMS

    def enter(self, record: Record, name: str) -> Room:
        """Put `record` into room `name`; the caller has left any other."""
        room = self.get(name)
        if room is None:
            room = self.emptied.pop(name_key(name), None) or Room(name)
            room.name = name  # spelled as whoever makes it again does
            self.rooms[name_key(name)] = room
        if not any(m is record for m in room.members):
            room.members.append(record)
        record.room = room.name
        return room

    def leave(self, record: Record) -> Room | None:
        """Take `record` out of its room; the room it left, if any."""
        room = self.of(record)
        record.room = ""
        if room is None:
            return None
        room.members = room.others(record)
        key, who = name_key(room.name), name_key(record.name)
        self._away[who] = (key, room.said)
        self._away.move_to_end(who)
        if len(self._away) > AWAY_KEPT:
            self._away.popitem(last=False)
        if not room.members:
            del self.rooms[key]
            self._set_aside(key, room)
        return room

    def missed(self, record: Record, room: Room) -> int:
        """Lines said in `room` since `record`, entering it, last left it (0: unknown)."""
        away = self._away.pop(name_key(record.name), None)
        return 0 if away is None or away[0] != name_key(room.name) else room.said - away[1]

    def set_aside(self, key: str, history: Iterable[RoomMessage]) -> None:
        """Keep `history` of room `key`, which has no members."""
        room = Room(key)
        room.read_back(history)
        self._set_aside(key, room)

    def _set_aside(self, key: str, room: Room) -> None:
        if not room.history and room.topic is None:
            return
        self.emptied[key] = room
        self.emptied.move_to_end(key)
        while len(self.emptied) > KEPT_EMPTIED:
            self._forgotten.append(self.emptied.popitem(last=False)[0])

    def forgotten(self) -> list[str]:
        """The keys of the histories forgotten since the last call: their files can go."""
        keys, self._forgotten = self._forgotten, []
        return keys

    def listing(self) -> list[tuple[str, int]]:
        rooms = sorted(self.rooms.values(), key=lambda r: name_key(r.name))
        return [(r.name, len(r.members)) for r in rooms]
