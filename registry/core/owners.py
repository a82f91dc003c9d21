"""Who owns each mailbox, kept beside its messages, so that a registry that lost its table
(deleted, or a row gone) never hands a mailbox to another key.

The table says who owns a name; a mailbox keeps its own copy of what proves it (the owner's
key, the hash of its token when the copy was made, its password's hash, where it last
listened). A registry started with a mailbox whose name has no row rebuilds the row from
it, offline: the owner's key (or password, or token) takes the name back, and anyone else
is refused as for any name that is someone else's. A mailbox with no owner on record (kept
by a registry of before this file) keeps its name from everyone until the console releases
it. Pure: the adapter reads and writes the files (registry/adapter/storage.py).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from msgspec import Struct

from registry.core.table import Record
from wire.names import name_key, name_problem

#: The token of a name rebuilt from a mailbox that records no owner: a hash no token has,
#: so that nobody takes the name back with one.
NO_TOKEN = "sha256:none"


class Owner(Struct, frozen=True):
    """What proves a mailbox's name is its owner's: as Record keeps it."""

    name: str
    key: str
    token: str
    password: str
    ip: str
    port: int

    @classmethod
    def of(cls, record: Record) -> Owner:
        return cls(record.name, record.key, record.token, record.password, record.ip, record.port)

    def record(self) -> Record:
        """The table row this owner stands for, offline."""
        return Record(self.name, self.ip, self.port, False, self.token, self.password, key=self.key)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "token": self.token,
            "password": self.password,
            "ip": self.ip,
            "port": self.port,
        }

    @classmethod
    def from_json(cls, data: Any) -> Owner:
        """The owner a file spells; ValueError saying what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("not a mailbox's owner")
        texts = [data.get(k) for k in ("name", "key", "token", "password", "ip")]
        port = data.get("port")
        if not all(type(v) is str for v in texts) or type(port) is not int:
            raise ValueError("not a mailbox's owner")
        name, key, token, password, ip = (str(v) for v in texts)
        if name_problem(name):
            raise ValueError(f"bad name {name[:40]!r}")
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise ValueError(f"{ip[:60]!r} is not an IPv4 address") from None
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is not a valid port")
        return cls(name, key, token, password, ip, port)


def unclaimed(box: str) -> Record:
    """The row kept for mailbox `box` (a name key) whose owner is on record nowhere: no key,
    no token, no password takes it; only the registry's console can release it."""
    return Record(box, "127.0.0.1", 1, False, NO_TOKEN)


def rebuild(
    records: dict[str, Record], boxes: set[str], owners: dict[str, Owner]
) -> tuple[list[str], list[str]]:
    """Put in `records` a row for every mailbox in `boxes` that has none: its owner's, from
    `owners`, else one that nobody can take (`unclaimed`). The names rebuilt from an owner,
    and those kept for nobody."""
    rebuilt, kept = [], []
    for box in sorted(boxes - records.keys()):
        owner = owners.get(box)
        if owner is not None and name_key(owner.name) == box:
            records[box] = owner.record()
            rebuilt.append(owner.name)
        else:
            records[box] = unclaimed(box)
            kept.append(box)
    return rebuilt, kept
