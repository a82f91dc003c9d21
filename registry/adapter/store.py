"""A backend takes the core's store actions as they come and makes them durable together at
`commit`; `FileStore` and `JetStreamStore` (cluster/store.py) keep one contract."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from msgspec import Struct

from registry.adapter.storage import (
    RoomHistoryFiles,
    Rows,
    Storage,
    StorageError,
    mail_line,
    table_text,
)
from registry.core.actions import (
    DropMail,
    KeepHistory,
    KeepOwner,
    MoveMail,
    Owner,
    SaveTable,
    StoreMail,
)
from registry.core.table import Table
from wire.messages import RoomMessage, StoredMessage

StoreAction = StoreMail | DropMail | MoveMail | KeepOwner | SaveTable | KeepHistory
STORE_ACTIONS = (StoreMail, DropMail, MoveMail, KeepOwner, SaveTable, KeepHistory)


def named_rows(named: set[str] | None, rows: tuple[str, ...] | None) -> set[str] | None:
    """The rows the next commit writes (None: all), `named` updated by a SaveTable of `rows`."""
    if rows is None or named is None:
        return None
    named.update(rows)
    return named


class Kept(Struct, frozen=True):
    table: Table
    mail: dict[str, list[StoredMessage]]
    owners: Mapping[str, Owner]
    histories: Mapping[str, Sequence[RoomMessage]]


class Store(Protocol):
    """A registry's durable state, once loaded. `carry_out` may raise StorageError (or
    OSError) for a write that cannot be begun; `commit` makes every action since the last
    durable, in order, or raises StorageError and keeps them for the next."""

    def carry_out(self, action: StoreAction) -> None: ...

    @property
    def dirty(self) -> bool: ...

    async def commit(self, table: Table) -> float:
        """Make what waits durable; the seconds it kept the event loop busy."""


class FileStore:
    """The data directory: `commit` writes in a thread of its own; rooms' lines go at once."""

    def __init__(self, data_dir: Path, log: Callable[[str], None]) -> None:
        self.storage = Storage(data_dir, log)
        self.histories = RoomHistoryFiles(data_dir, log)
        self._waiting: deque[Callable[[], None]] = deque()
        self._table_dirty = False
        # the name keys of the rows changed since the last commit (None: any may have)
        self._named: set[str] | None = None
        self._rows = Rows()

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
                self._table_dirty, self._named = True, named_rows(self._named, rows)
            case KeepHistory(room, history):
                self.histories.keep(room, history)
            case MoveMail(old, new):
                self.storage.check_box(old)
                self._wait(new, self.storage.move, old, new)
            case StoreMail(box, message):  # (its line made here, not in the commit's thread)
                self._wait(box, self.storage.append_line, box, mail_line(message), sync=False)
            case DropMail(box, ids):
                self._wait(box, self.storage.drop, box, ids)
            case KeepOwner(box, owner):
                self._wait(box, self.storage.keep_owner, box, owner)

    def _wait(self, box: str, write: Callable[..., None], *args: Any, **kw: Any) -> None:
        """`write(*args, **kw)` at the next commit; a name that is not a box fails now."""
        self.storage.check_box(box)
        self._waiting.append(functools.partial(write, *args, **kw))

    @property
    def dirty(self) -> bool:
        return self._table_dirty or bool(self._waiting) or self.storage.unsynced

    async def commit(self, table: Table) -> float:
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
        """The first `count` writes, the table's `text`, then the fsyncs; a write that fails
        stays first, for the next commit."""
        for _ in range(count):
            self._waiting[0]()
            self._waiting.popleft()
        if text is not None:
            self.storage.write_table(text)
        self.storage.sync()
