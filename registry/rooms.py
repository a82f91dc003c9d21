"""The registry's rooms: who is in which room, and each room's recent messages.

Pure data. Who is in which room survives a restart: each member's Record carries its room
(`Record.room`), which the table file keeps, and `Rooms.restore` rebuilds the rooms from
them. The history is kept on disk too, by the adapter (registry/room_history.py), and
handed back at a restart. A room whose last member leaves is gone, but its history is set
aside for when the room is made again (KEPT_EMPTIED). The protocol rules that use it (acks,
pushes, notices) live in registry.core. Members are the table's own Record objects, so a
rename, which changes a record's name in place, keeps its room membership without any
bookkeeping here.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from registry.table import Record
from wire.messages import RoomMessage
from wire.names import name_key

#: Messages each room keeps for newcomers. Twenty is a screenful: enough to pick up the
#: thread of a conversation, small enough to replay as separate datagrams on every join.
ROOM_HISTORY = 20

#: Rooms at most. Bounds the registry's memory (each room keeps ROOM_HISTORY messages of up
#: to MAX_TEXT bytes) and keeps the answer to `rooms` to one frame.
MAX_ROOMS = 100

#: Emptied rooms whose history is kept for when the room is made again: a team that leaves
#: its room at night finds what was said in it in the morning. The one emptied longest ago
#: is forgotten first. As many as there can be rooms, which bounds the memory alike.
KEPT_EMPTIED = MAX_ROOMS


@dataclass
class Room:
    """One room: its name as first spelled, its members in joining order, its history."""

    name: str
    members: list[Record] = field(default_factory=list)
    history: deque[RoomMessage] = field(default_factory=lambda: deque(maxlen=ROOM_HISTORY))

    def others(self, record: Record) -> list[Record]:
        """Every member but `record`."""
        return [m for m in self.members if m is not record]


class Rooms:
    """Every room, by the case-insensitive key of its name."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        # histories of emptied rooms by key, the one emptied last at the end
        self.emptied: OrderedDict[str, deque[RoomMessage]] = OrderedDict()
        self._forgotten: list[str] = []  # keys of histories no longer kept (see `forgotten`)

    @classmethod
    def restore(cls, records: Iterable[Record]) -> Rooms:
        """The rooms the `room` of each of `records` names (loaded from disk), members in
        the order given. Beyond MAX_ROOMS rooms, the rest of the records are in none."""
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
        """The room `record` is in, if any."""
        return self.get(record.room) if record.room else None

    def full(self) -> bool:
        return len(self.rooms) >= MAX_ROOMS

    def enter(self, record: Record, name: str) -> Room:
        """Put `record` into room `name`, creating the room; the caller has left any other."""
        room = self.get(name)
        if room is None:
            room = Room(name)
            room.history.extend(self.emptied.pop(name_key(name), ()))
            self.rooms[name_key(name)] = room
        if not any(m is record for m in room.members):
            room.members.append(record)
        record.room = room.name
        return room

    def leave(self, record: Record) -> Room | None:
        """Take `record` out of its room; remove the room when it is empty, setting its
        history aside (`set_aside`). Return the room it left (None if it was in none)."""
        room = self.of(record)
        record.room = ""
        if room is None:
            return None
        room.members = room.others(record)
        if not room.members:
            del self.rooms[name_key(room.name)]
            self.set_aside(name_key(room.name), room.history)
        return room

    def set_aside(self, key: str, history: Iterable[RoomMessage]) -> None:
        """Keep `history`, that of room `key`, which has no members, for when the room is
        made again. Beyond KEPT_EMPTIED such histories, the one set aside longest ago is
        forgotten (see `forgotten`)."""
        kept = deque(history, maxlen=ROOM_HISTORY)
        if not kept:
            return
        self.emptied[key] = kept
        self.emptied.move_to_end(key)
        while len(self.emptied) > KEPT_EMPTIED:
            self._forgotten.append(self.emptied.popitem(last=False)[0])

    def forgotten(self) -> list[str]:
        """The keys of the histories forgotten since the last call: their files can go."""
        keys, self._forgotten = self._forgotten, []
        return keys

    def listing(self) -> list[tuple[str, int]]:
        """(name, member count) for every room, by name."""
        rooms = sorted(self.rooms.values(), key=lambda r: name_key(r.name))
        return [(r.name, len(r.members)) for r in rooms]
