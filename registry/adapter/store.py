"""Where a registry keeps what it must not lose: the seam between its adapter and a backend.

A backend takes the core's store actions (registry.core.actions) as they come, and makes them
durable together at `commit`: the adapter's group commit (registry/adapter/commit.py) holds every
answer until the commit that covers it is made. Two backends keep the same contract:

- `FileStore` (here): the data directory, for one registry on its own (the default);
- `JetStreamStore` (registry/adapter/cluster/store.py): NATS JetStream, shared by the registries
  of one service (docs/SCALING.md).

`tests/registry/test_store_contract.py` runs one set of tests against both.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from msgspec import Struct

from registry.adapter.room_history import RoomHistoryFiles
from registry.adapter.storage import Rows, Storage, StorageError, mail_line, table_text
from registry.core.actions import (
    DropHistory,
    DropMail,
    KeepHistory,
    KeepOwner,
    MoveMail,
    SaveTable,
    StoreMail,
)
from registry.core.table import Owner, Table
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


class MailLine(NamedTuple):
    """A StoreMail as FileStore keeps it for its commit: the box, and the message's line."""

    owner: str
    line: str


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

    async def commit(self, table: Table) -> float:
        """Make what waits durable; `table` is the core's, written if SaveTable came. The
        seconds the commit kept the registry's event loop busy (registry/adapter/commit.py paces
        the commits by it)."""
        ...


class FileStore:
    """The data directory (registry/adapter/storage.py, registry/adapter/room_history.py). The
    mailboxes' changes, their owners and the table wait for `commit`, which carries them out in
    order and makes them durable in a thread of its own: meanwhile the registry goes on reading
    requests, and what they store goes in the next commit (so the busier it is, the more one fsync
    covers). Rooms' lines are written at once, and nothing waits for them
    (registry/adapter/room_history.py says why)."""

    def __init__(self, data_dir: Path, log: Callable[[str], None]) -> None:
        self.storage = Storage(data_dir, log)
        self.histories = RoomHistoryFiles(data_dir, log)
        # actions for the next commit, in order (a message to keep as its mailbox line, made
        # here: the commit's thread then holds the interpreter only briefly); that thread
        # takes them from the left
        self._waiting: deque[MailLine | DropMail | MoveMail | KeepOwner] = deque()
        self._table_dirty = False
        # the name keys of the rows changed since the last commit (None: any may have)
        self._named: set[str] | None = None
        self._rows = Rows()  # the rows last written, each encoded again only once changed

    def load(self, now: float) -> Kept:
        return Kept(
            self.storage.load_table(now),
            self.storage.load_mail(),
            self.storage.load_owners(),
            self.histories.load(),
        )

    def carry_out(self, action: StoreAction) -> None:
        match action:
            case SaveTable(rows):
                self._table_dirty = True
                if rows is None or self._named is None:
                    self._named = None
                else:
                    self._named.update(rows)
            case KeepHistory(room, history):
                self.histories.keep(room, history)
            case DropHistory(room):
                self.histories.drop(room)
            case MoveMail(old, new):
                self.storage.check_box(old)
                self.storage.check_box(new)
                self._waiting.append(action)
            case StoreMail(box, message):
                self.storage.check_box(box)  # a name that cannot be a box fails now, not later
                self._waiting.append(MailLine(box, mail_line(message)))
            case DropMail(box, _) | KeepOwner(box, _):
                self.storage.check_box(box)
                self._waiting.append(action)

    @property
    def dirty(self) -> bool:
        return self._table_dirty or bool(self._waiting) or self.storage.unsynced

    async def commit(self, table: Table) -> float:
        """Make what waits durable. The table is written as it is now; the actions that
        wait now are carried out in the commit's thread (GroupCommit makes one commit at a
        time, so only that thread touches the files meanwhile). The loop is kept busy only
        by the table's text: the time that took is returned."""
        started = time.monotonic()
        text = table_text(table, self._rows, self._named) if self._table_dirty else None
        self._table_dirty, self._named = False, set()
        busy = time.monotonic() - started
        try:
            await asyncio.to_thread(self._write, len(self._waiting), text)
        except (OSError, StorageError) as exc:
            self._table_dirty = self._table_dirty or text is not None
            raise StorageError(str(exc)) from None
        return busy

    def _write(self, count: int, text: str | None) -> None:
        """In the commit's thread: the first `count` actions waiting, in order, the table's
        `text` (if given), then one fsync per mailbox file written. An action that fails stays first
        in line, for the next commit; what was appended before it waits for that one's
        fsync (registry/adapter/storage.py, `sync`)."""
        for _ in range(count):
            self._apply(self._waiting[0])
            self._waiting.popleft()
        if text is not None:
            self.storage.write_table(text)
        self.storage.sync()

    def _apply(self, action: MailLine | DropMail | MoveMail | KeepOwner) -> None:
        match action:
            case MailLine(owner, line):
                self.storage.append_line(owner, line, sync=False)
            case DropMail(owner, ids):
                self.storage.drop(owner, ids)
            case MoveMail(old, new):
                self.storage.move(old, new)
            case KeepOwner(box, owner):
                self.storage.keep_owner(box, owner)
