"""The registry's table of known names: who owns each name, where it listens, and whether it is
online. Pure data with its own persistence format (a JSON-able dict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wire.messages import Entry
from wire.names import name_key, name_problem

Addr = tuple[str, int]


@dataclass(slots=True)
class Record:
    """One registered name. `token` proves ownership; `password` is a scrypt hash or "".

    Slotted: a registry keeps one per name ever registered (10,000 and more), and a
    __dict__ per record would be its largest part.
    """

    name: str
    ip: str
    port: int
    online: bool
    token: str
    password: str = ""
    last_seen: float = 0.0
    last_register_id: str = ""
    room: str = ""

    @property
    def addr(self) -> Addr:
        return (self.ip, self.port)

    def entry(self) -> Entry:
        return Entry(self.name, self.ip, self.port, self.online)


@dataclass
class Table:
    """Names by their case-insensitive key, with a version that grows on every change."""

    records: dict[str, Record] = field(default_factory=dict)
    version: int = 0

    def get(self, name: str) -> Record | None:
        return self.records.get(name_key(name))

    def at(self, addr: Addr) -> Record | None:
        """The online record listening at `addr`, if any."""
        for record in self.records.values():
            if record.online and record.addr == addr:
                return record
        return None

    def online(self) -> list[Record]:
        return [r for r in self.records.values() if r.online]

    def entries(self) -> tuple[Entry, ...]:
        return tuple(r.entry() for r in self.records.values())

    def to_json(self) -> dict[str, Any]:
        """The persistent form: names, owners, addresses and rooms (not the volatile
        liveness data). A room is written only for a record in one, in the room's spelling."""
        return {
            "version": self.version,
            "names": [
                {
                    "name": r.name,
                    "ip": r.ip,
                    "port": r.port,
                    "online": r.online,
                    "token": r.token,
                    "password": r.password,
                    **({"room": r.room} if r.room else {}),
                }
                for r in self.records.values()
            ],
        }

    @classmethod
    def from_json(cls, data: Any, now: float) -> Table:
        """Rebuild a table saved by `to_json`; raise ValueError if it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise ValueError("not a ChatApp table")
        table = cls(version=data["version"])
        for row in data.get("names", []):
            try:
                record = Record(
                    name=str(row["name"]),
                    ip=str(row["ip"]),
                    port=int(row["port"]),
                    online=bool(row["online"]),
                    token=str(row["token"]),
                    password=str(row.get("password", "")),
                    last_seen=now,
                    room=str(row.get("room", "")),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"bad table row {row!r}: {exc}") from None
            if name_problem(record.name):
                raise ValueError(f"bad name in table: {record.name!r}")
            if record.room and (name_problem(record.room) or not record.online):
                record.room = ""  # not a room a peer could be in: forgotten, not fatal
            table.records[name_key(record.name)] = record
        return table
