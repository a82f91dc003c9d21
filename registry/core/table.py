"""The registry's table of known names: who owns each name, where it listens, and whether
it is online; and its persistent form (a JSON-able dict)."""

from __future__ import annotations

import ipaddress
from typing import Any

import msgspec
from msgspec import Struct, field

from registry.core.actions import Addr, Owner
from registry.core.credentials import TOKEN_HASH, token_hash
from secure.tickets import vouches
from wire.limits import MAX_FAREWELL
from wire.messages import Entry
from wire.names import name_key, name_problem

#: The highest table version a saved table may carry (within the wire's 64 bits).
MAX_VERSION = 2**62
#: Former names kept per renamed record (the latest ones).
MAX_FORMER_NAMES = 8
#: Names kept per record of those its owner last left a message for (Record.wrote_to).
MAX_WROTE_TO = 100


class Record(Struct):
    """One registered name. `token` is the hash of the token that moves the name to a new
    key; `password` is a verifier (or an older scrypt hash) or ""."""

    name: str
    ip: str
    port: int
    online: bool
    token: str
    password: str = ""
    last_seen: float = 0.0
    last_register_id: str = ""
    room: str = ""
    #: offline by its own dereg (or quit), not as the registry gave up on it
    deregistered: bool = False
    #: the newest line of `room`'s history replayed to it, not all acked yet (""): a
    #: registry restarted meanwhile replays them again
    replaying: str = ""
    #: the owner's public key (key_text), moved only with the token or the password
    key: str = ""
    #: the name keys its owner last saved a message for, the latest last (None: none)
    wrote_to: list[str] | None = None
    #: when its name was made and last used, as times of day (0: not known)
    made: float = 0.0
    used: float = 0.0
    #: the secret its owner's mailbox tickets are made with (secure/tickets.py; "": none)
    tickets: str = ""
    #: why its owner is away (SetAway), until it is back or offline
    away: str = ""

    @property
    def addr(self) -> Addr:
        return (self.ip, self.port)

    def entry(self) -> Entry:
        return Entry(self.name, self.ip, self.port, self.online, self.key, self.away)

    def wrote(self, key: str) -> bool:
        """Its owner wrote to name key `key`: whether that one is new among them."""
        wrote_to = self.wrote_to = self.wrote_to or []
        new = key not in wrote_to
        if not new:
            wrote_to.remove(key)
        wrote_to.append(key)
        del wrote_to[:-MAX_WROTE_TO]
        return new

    def knows(self, name: str, key: str = "", ticket: str = "") -> bool:
        """Whether its owner wrote to `name` lately (or `name` is its own), or handed `key`
        the `ticket` shown (secure/tickets.py)."""
        known = name_key(name)
        if known == name_key(self.name) or known in (self.wrote_to or ()):
            return True
        return bool(ticket) and vouches(self.tickets, key, ticket)


def owner_of(record: Record) -> Owner:
    return Owner(*(getattr(record, field) for field in Owner.__struct_fields__))


def owner_record(owner: Owner) -> Record:
    return Record(online=False, **msgspec.structs.asdict(owner))


def owner_from_json(data: Any) -> Owner:
    """The owner a file spells; ValueError saying what is wrong with it."""
    if not isinstance(data, dict) or not {"key", "password"} <= data.keys():
        raise ValueError("not a mailbox's owner")
    if problem := _row_problem({**data, "online": False, "former": []}):
        raise ValueError(problem)
    fields = {name: data[name] for name in Owner.__struct_fields__[:-1]}  # (all but tickets)
    return Owner(**fields, tickets=data.get("tickets", ""))


class Table(Struct):
    """Names by their case-insensitive key, with a version that grows on every change.
    `former` maps the key of a name given up by a rename to its holder's key, oldest first."""

    records: dict[str, Record] = field(default_factory=dict)
    version: int = 0
    former: dict[str, str] = field(default_factory=dict)
    #: rows changed and pushed to no peer yet, by name key, in order: saved, so that a
    #: registry killed before it pushed them pushes them once started again
    unpushed: dict[str, Entry] = field(default_factory=dict)
    #: whether the rows pushed from this table are known exactly (else RESTART_JUMP)
    continues: bool = True

    def get(self, name: str) -> Record | None:
        return self.records.get(name_key(name))

    def renamed_from(self, name: str) -> Record | None:
        """The record that gave up `name` in a rename, if nobody took it since."""
        key = self.former.get(name_key(name))
        return None if key is None else self.records.get(key)

    def note_rename(self, old_key: str, new_key: str) -> None:
        """The record keyed `old_key` is now keyed `new_key`: its latest MAX_FORMER_NAMES
        former names lead there."""
        if old_key == new_key:
            return
        self.former.pop(new_key, None)  # its own again, or someone else's no more
        mine = []
        for key, holder in self.former.items():
            if holder == old_key:
                self.former[key] = new_key
                mine.append(key)
            elif holder == new_key:
                mine.append(key)
        self.former[old_key] = new_key
        for key in mine[: max(0, len(mine) + 1 - MAX_FORMER_NAMES)]:
            del self.former[key]

    def name_taken(self, key: str) -> None:
        self.former.pop(key, None)

    def forget_former(self, key: str) -> None:
        for old in [old for old, holder in self.former.items() if holder == key]:
            del self.former[old]

    def online(self) -> list[Record]:
        return [r for r in self.records.values() if r.online]

    def entries(self) -> tuple[Entry, ...]:
        return tuple(r.entry() for r in self.records.values())

    def to_json(self) -> dict[str, Any]:
        formers = self.formers()
        return {
            "version": self.version,
            "names": [row_json(r, formers.get(key)) for key, r in self.records.items()],
            "unpushed": [list(msgspec.structs.astuple(e)) for e in self.unpushed.values()],
        }

    def formers(self) -> dict[str, list[str]]:
        formers: dict[str, list[str]] = {}
        for old, holder in self.former.items():
            formers.setdefault(holder, []).append(old)
        return formers

    @classmethod
    def from_json(cls, data: Any, now: float) -> Table:
        """The table `to_json` saved; ValueError naming the row and what is wrong with it."""
        if not isinstance(data, dict) or type(data.get("version")) is not int:
            raise ValueError("not a ChatApp table")
        if not 0 <= data["version"] <= MAX_VERSION:
            raise ValueError(f"version {data['version']} is out of range")
        rows = data.get("names", [])
        if not isinstance(rows, list):
            raise ValueError('"names" is not a list')
        table = cls(version=data["version"], continues="unpushed" in data)
        try:
            unpushed = msgspec.convert(data.get("unpushed", []), list[Entry])
        except msgspec.ValidationError as exc:
            raise ValueError(f'"unpushed": {exc}') from None
        for entry in unpushed:
            if problem := name_problem(entry.name):
                raise ValueError(f'"unpushed": {problem}')
            table.unpushed[name_key(entry.name)] = entry
        for row in rows:
            record = _record(row, now)
            key = name_key(record.name)
            if key in table.records:
                first = table.records[key].name
                raise ValueError(f"{first!r} and {record.name!r} are one name (case is ignored)")
            table.records[key] = record
            for old in row.get("former", []):
                table.former[name_key(old)] = key
        for old in [old for old in table.former if old in table.records or name_problem(old)]:
            del table.former[old]  # taken since, or not a name: forgotten, not fatal
        return table


def row_json(r: Record, former: list[str] | None) -> dict[str, Any]:
    return {
        "name": r.name,
        "ip": r.ip,
        "port": r.port,
        "online": r.online,
        "token": r.token,
        "password": r.password,
        **({"key": r.key} if r.key else {}),
        **({"room": r.room} if r.room else {}),
        **({"away": r.away} if r.away and r.online else {}),
        **({"register_id": r.last_register_id} if r.last_register_id else {}),
        **({"deregistered": True} if r.deregistered and not r.online else {}),
        **({"replaying": r.replaying} if r.replaying and r.room else {}),
        **({"former": former} if former else {}),
        **({"wrote_to": r.wrote_to} if r.wrote_to else {}),
        **({"made": int(r.made)} if r.made else {}),
        **({"used": int(r.used)} if r.used else {}),
        **({"tickets": r.tickets} if r.tickets else {}),
    }


def _record(row: Any, now: float) -> Record:
    if not isinstance(row, dict):
        raise ValueError(f"bad table row {row!r}"[:300])
    if problem := _row_problem(row):
        raise ValueError(f"bad table row for {str(row.get('name'))[:40]!r}: {problem}")
    record = Record(
        name=row["name"],
        ip=row["ip"],
        port=row["port"],
        online=row["online"],
        # kept hashed (a table written before tokens were hashed is hashed as it is read)
        token=row["token"] if row["token"].startswith(TOKEN_HASH) else token_hash(row["token"]),
        password=row.get("password", ""),
        last_seen=now,
        last_register_id=row.get("register_id", ""),
        room=row.get("room", ""),
        deregistered=row.get("deregistered", False) is True and not row["online"],
        key=row.get("key", ""),
        tickets=row.get("tickets", ""),
    )
    # read leniently: a damaged list, stamp or replay costs little
    wrote_to = row.get("wrote_to", [])
    if type(wrote_to) is list and all(type(k) is str and not name_problem(k) for k in wrote_to):
        record.wrote_to = [name_key(k) for k in wrote_to[-MAX_WROTE_TO:]] or None
    record.made, record.used = _stamp(row.get("made")), _stamp(row.get("used"))
    if record.room and (name_problem(record.room) or not record.online):
        record.room = ""  # not a room a peer could be in: forgotten, not fatal
    replaying = row.get("replaying", "")
    record.replaying = replaying if type(replaying) is str and record.room else ""
    away = row.get("away", "")
    record.away = away if type(away) is str and len(away) <= MAX_FAREWELL and record.online else ""
    return record


def _stamp(value: Any) -> float:
    return float(value) if type(value) in (int, float) and 0 < value < 2**40 else 0.0


def _row_problem(row: dict[str, Any]) -> str:
    for key, kind, what in (
        ("name", str, "a string"),
        ("ip", str, "a string"),
        ("port", int, "a whole number"),
        ("online", bool, "true or false"),
        ("token", str, "a string"),  # the owner's proof: never dropped in silence
    ):
        if type(row.get(key)) is not kind:
            return f"{key} is missing or not {what}"
    for key in ("password", "room", "register_id", "key", "tickets"):
        if type(row.get(key, "")) is not str:
            return f"{key} is not a string"
    former = row.get("former", [])
    if type(former) is not list or not all(type(old) is str for old in former):
        return "former is not a list of names"
    if problem := name_problem(row["name"]):
        return f"bad name ({problem})"
    try:
        ipaddress.IPv4Address(row["ip"])
    except ValueError:
        return f"{row['ip'][:60]!r} is not an IPv4 address"
    if not 1 <= row["port"] <= 65535:
        return f"port {row['port']} is not a valid port"
    return ""
