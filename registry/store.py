"""Where a registry keeps what it must not lose: the seam between its adapter and a backend.

A backend takes the core's store actions (registry.actions) as they come, and makes them
durable together at `commit`: the adapter's group commit (registry/commit.py) holds every
answer until the commit that covers it is made. Two backends keep the same contract:

- `FileStore` (here): the data directory, for one registry on its own (the default);
- `JetStreamStore` (registry/cluster/store.py): NATS JetStream, shared by the registries
  of one service (docs/SCALING.md).

`tests/registry/test_store_contract.py` runs one set of tests against both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from msgspec import Struct

from registry.actions import (
    DropHistory,
    DropMail,
    KeepHistory,
    KeepOwner,
    MoveMail,
    SaveTable,
    StoreMail,
)
from registry.owners import Owner
from registry.room_history import RoomHistoryFiles
from registry.storage import Storage, StorageError
from registry.table import Table
from wire.messages import RoomMessage, StoredMessage

#: The actions of the core that a store carries out.
StoreAction = StoreMail | DropMail | MoveMail | KeepOwner | SaveTable | KeepHistory | DropHistory
STORE_ACTIONS = (StoreMail, DropMail, MoveMail, KeepOwner, SaveTable, KeepHistory, DropHistory)


class Kept(Struct, frozen=True):
    """What a registry finds kept when it starts: the table, the mailboxes by owner, what
    each mailbox kept of its owner, and the rooms' last lines by room key."""

    table: Table
    mail: dict[str, list[StoredMessage]]
    owners: Mapping[str, Owner]
    histories: Mapping[str, Sequence[RoomMessage]]


class Store(Protocol):
    """A registry's durable state, once loaded (each backend loads in its own way: the
    files at once, JetStream over the network). `carry_out` may raise StorageError (or
    OSError) for a write that cannot even be begun; `commit` makes every action carried out
    since the last commit durable, in order, or raises StorageError and keeps them for the
    next one."""

    def carry_out(self, action: StoreAction) -> None: ...

    @property
    def dirty(self) -> bool:
        """Whether actions wait for a commit."""
        ...

    async def commit(self, table: Table) -> None:
        """Make what waits durable; `table` is the core's, written if SaveTable came."""
        ...


class FileStore:
    """The data directory (registry/storage.py, registry/room_history.py). Mail appended
    and the table wait for `commit`; a mailbox's drop or move and an owner kept are written
    durably at once (a crash leaves the old file or the new one); rooms' lines are written
    without waiting (registry/room_history.py says why)."""

    def __init__(self, data_dir: Path, log: Callable[[str], None]) -> None:
        self.storage = Storage(data_dir, log)
        self.histories = RoomHistoryFiles(data_dir, log)
        self._table_dirty = False

    def load(self, now: float) -> Kept:
        return Kept(
            self.storage.load_table(now),
            self.storage.load_mail(),
            self.storage.load_owners(),
            self.histories.load(),
        )

    def carry_out(self, action: StoreAction) -> None:
        match action:
            case StoreMail(owner, message):
                self.storage.append(owner, message, sync=False)
            case SaveTable():
                self._table_dirty = True
            case DropMail(owner, ids):
                self.storage.drop(owner, ids)
            case MoveMail(old, new):
                self.storage.move(old, new)
            case KeepOwner(box, owner):
                self.storage.keep_owner(box, owner)
            case KeepHistory(room, history):
                self.histories.keep(room, history)
            case DropHistory(room):
                self.histories.drop(room)

    @property
    def dirty(self) -> bool:
        return self._table_dirty or self.storage.unsynced

    async def commit(self, table: Table) -> None:
        try:
            if self._table_dirty:
                self.storage.save_table(table)
                self._table_dirty = False
            self.storage.sync()
        except OSError as exc:
            raise StorageError(str(exc)) from None
