"""The service's state in NATS JetStream (docs/SCALING.md, "What is kept where").

`commit` returns once JetStream acknowledged every write (on a majority, where it keeps three
copies). It writes only the table rows that changed, each over the revision this store last
read or wrote (compare-and-set): a registry that no longer decides finds out by a StorageError.
A write unacknowledged in time may be stored all the same: a row found holding the text this
store tried to write is taken as written, not as another registry's. Keys: `row.<name key in
hex>`, `version` and `unpushed` in CHATAPP_TABLE (each commit writes `unpushed` last: a new
lead continues the table's versions only when it is the bucket's last write, or `version` in a
bucket without it); `<owner>.<sender, id>` (each in hex) in CHATAPP_MAIL, a stored message:
stored again, its one copy is replaced; the help desk's records by their names in CHATAPP_DESK.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable

import msgspec
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import StorageType
from nats.js.kv import KeyValue

from disk.files import os_reason
from registry.adapter.store import (
    DeskRecord,
    Kept,
    StorageError,
    StoreAction,
    named_rows,
    room_lines,
)
from registry.core.actions import DropMail, KeepHistory, KeepOwner, MoveMail, SaveTable, StoreMail
from registry.core.table import Table, owner_from_json, row_json
from wire.codec import encode
from wire.messages import StoredMessage

#: Reads of a bucket that gave fewer keys than it holds, before the last is taken as it is.
WATCH_TRIES = 5
#: Seconds a read of a bucket waits for its next key before it ends and counts what it has.
WATCH_SILENCE = 2.0
#: Writes of one commit waiting for JetStream's answer at once: a join storm's thousand rows
#: sent at once outwaited JetStream's timeout; a few dozen keep each answer near a round trip.
IN_FLIGHT = 64
TABLE, OWNERS, ROOMS, MAIL = "CHATAPP_TABLE", "CHATAPP_OWNERS", "CHATAPP_ROOMS", "CHATAPP_MAIL"
DESK = "CHATAPP_DESK"
ERRORS = (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError)
#: JetStream's codes for a write over an unexpected revision.
WRONG_LAST = (10071, 10164)
#: Seconds the marker of a message dropped is kept (it takes the message's place).
DROPPED_KEPT = 60.0


def hex_key(name: str) -> str:
    return name.encode().hex()


async def bucket(js: JetStreamContext, name: str) -> KeyValue:
    """The bucket `name`, made by the first registry that needs it: three copies where the
    cluster has three servers or more, else one."""
    try:
        return await js.create_key_value(bucket=name, storage=StorageType.FILE, replicas=3)
    except nats.js.errors.APIError as exc:
        if exc.code not in (400, 500, 503):
            raise
        return await js.create_key_value(bucket=name, storage=StorageType.FILE, replicas=1)


class JetStreamStore:
    def __init__(self, buckets: dict[str, KeyValue]) -> None:
        #: run before each commit's writes: raises StorageError once this registry no longer decides
        self.fence: Callable[[], Awaitable[None]] | None = None
        self._table, self._owners, self._rooms = buckets[TABLE], buckets[OWNERS], buckets[ROOMS]
        self._mail, self._desk = buckets[MAIL], buckets[DESK]
        # the help desk's records, as carried out (written or not)
        self._desk_records: dict[str, bytes] = {}
        self._actions: list[StoreAction] = []
        self._table_dirty = False
        # the name keys of the rows to write at the next commit (None: every row)
        self._named: set[str] | None = set()
        # the name keys of the rows last written with former names (Table.formers)
        self._holders: set[str] = set()
        # what this store last read or wrote: each row's revision and text, by its key
        self._rows: dict[str, tuple[int, bytes]] = {}
        self._version = b""  # the table's version as this store last read or wrote it
        # the texts of each row written since its last acknowledged write, without an
        # acknowledgement (any may be stored; None: deleted)
        self._unsure: dict[str, set[bytes | None]] = {}
        # the mailboxes as stored, by owner: each message by its sender and id
        self._boxes: dict[str, dict[tuple[str, str], StoredMessage]] = {}

    @classmethod
    async def open(cls, js: JetStreamContext) -> JetStreamStore:
        return cls({name: await bucket(js, name) for name in (TABLE, OWNERS, ROOMS, MAIL, DESK)})

    async def load(self, now: float) -> Kept:
        rows = await entries(self._table)
        written, version = rows.pop("version", (0, b"0"))
        self._version = version
        # a bucket of an earlier version has no `unpushed`: it wrote `version` after the rows
        unpushed = rows.pop("unpushed", (written, b"[]"))
        read = {
            key: (revision, json.loads(value))
            for key, (revision, value) in rows.items()
            if key.startswith("row.")
        }
        # (each row as a commit encodes it: a row written another way is not one changed)
        self._rows = {key: (rev, msgspec.json.encode(row)) for key, (rev, row) in read.items()}
        data = {"version": int(version), "names": [row for _, row in read.values()]}
        if unpushed[0] == (await self._table.status()).stream_info.state.last_seq:
            data["unpushed"] = json.loads(unpushed[1])  # (the last write: the commit was whole)
        try:
            table = Table.from_json(data, now)
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"the service's table is not a ChatApp table: {exc}") from None
        self._holders = set(table.formers())
        owners = {
            bytes.fromhex(key).decode(): owner_from_json(json.loads(value))
            for key, (_, value) in (await entries(self._owners)).items()
        }
        histories = {
            bytes.fromhex(key).decode(): room_lines(value)[0]
            for key, (_, value) in (await entries(self._rooms)).items()
        }
        self._boxes = {}
        for key, (_, value) in sorted(
            (await entries(self._mail)).items(), key=lambda kept: kept[1][0]
        ):
            message = msgspec.json.decode(value, type=StoredMessage)
            box = self._boxes.setdefault(bytes.fromhex(key.partition(".")[0]).decode(), {})
            box[(message.sender, message.id)] = message
        mail = {owner: list(box.values()) for owner, box in self._boxes.items()}
        found = await entries(self._desk)
        self._desk_records = {name: value for name, (_, value) in found.items()}
        return Kept(table, mail, owners, histories)

    def carry_out(self, action: StoreAction) -> None:
        match action:
            case SaveTable(rows):
                self._table_dirty, self._named = True, named_rows(self._named, rows)
                return
            case DeskRecord(name, None):
                self._desk_records.pop(name, None)
            case DeskRecord(name, bytes() as data):
                self._desk_records[name] = data
        self._actions.append(action)

    def desk_record(self, name: str) -> bytes:
        data = self._desk_records.get(name)
        if not data:
            raise FileNotFoundError(self.where(name))
        return data

    def where(self, name: str) -> str:
        return f"{DESK}/{name}"

    @property
    def dirty(self) -> bool:
        return self._table_dirty or bool(self._actions)

    async def commit(self, table: Table) -> float:
        """Write what waits, in order, then the changed rows (what is unacknowledged waits).
        Returns the seconds the registry was kept busy: while JetStream answers it goes on."""
        busy = 0.0
        if self.fence is not None and self.dirty:
            try:
                await self.fence()
            except ERRORS as exc:
                raise StorageError(f"JetStream did not answer ({os_reason(exc)})") from None
        while self._actions:
            run = _independent_run(self._actions)
            try:
                await _at_most(IN_FLIGHT, [self._write(action) for action in run])
            except ERRORS as exc:
                raise StorageError(f"JetStream did not store it ({os_reason(exc)})") from None
            del self._actions[: len(run)]
        if self._table_dirty:
            named, self._named, self._table_dirty = self._named, set(), False
            try:
                busy = await self._write_table(table, named)
            except BaseException:
                # (which of its rows were stored is not known: the next commit compares all)
                self._table_dirty, self._named = True, None
                raise
        return busy

    async def _write(self, action: StoreAction) -> None:
        match action:  # (each may be carried out again after a failure)
            case StoreMail(owner, message):
                await self._mail.put(_mail_key(owner, message), msgspec.json.encode(message))
                self._boxes.setdefault(owner, {})[(message.sender, message.id)] = message
            case DropMail(owner, ids):
                box = self._boxes.get(owner, {})
                for message in [m for m in box.values() if m.id in ids]:
                    await self._mail.purge(_mail_key(owner, message), msg_ttl=DROPPED_KEPT)
                    del box[(message.sender, message.id)]
            case MoveMail(old, new) if old != new:  # (a rename that changes only case: none)
                for message in list(self._boxes.get(old, {}).values()):
                    await self._write(StoreMail(new, message))
                    await self._write(DropMail(old, (message.id,)))
            case KeepOwner(box, owner):
                await self._owners.put(hex_key(box), json.dumps(owner.to_json()).encode())
            case KeepHistory(room, ()):
                await self._rooms.delete(hex_key(room))
            case KeepHistory(room, history):
                await self._rooms.put(hex_key(room), b"\n".join(encode(m) for m in history))
            case DeskRecord(name, None):
                await self._desk.delete(name)
            case DeskRecord(name, bytes() as data):
                await self._desk.put(name, data)

    async def _write_table(self, table: Table, named: set[str] | None) -> float:
        """Write the changed rows of `named` (None: all) over the revisions known (StorageError
        when another registry wrote one); the seconds taken to find them."""
        started = time.monotonic()
        writes = self._row_writes(table, named)
        version = str(table.version).encode()
        if version != self._version:
            writes.append(self._write_version(version))
        if writes:  # (begun last: see `load`)
            unpushed = msgspec.json.encode(list(table.unpushed.values()))
            writes.append(self._table.put("unpushed", unpushed))
        busy = time.monotonic() - started
        try:
            # (with the rows, not after them: an answer leaves once all are stored, and a
            # round trip more held every answer in a join storm)
            await _at_most(IN_FLIGHT, writes)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise StorageError(
                "another registry of the service changed the table: it decides for the service now"
            ) from None
        except ERRORS as exc:
            raise StorageError(f"JetStream did not store the table ({os_reason(exc)})") from None
        return busy

    def _row_writes(self, table: Table, named: set[str] | None) -> list[Awaitable[object]]:
        """The writes of rows of `named` (None: all) and former names that changed or went
        unanswered; a row no longer in the table is deleted."""
        formers = table.formers()
        if named is None:
            keys: set[str] | Iterable[str] = table.records.keys()
            gone = set(self._rows) - {f"row.{hex_key(key)}" for key in keys}
        else:
            keys, gone = named | formers.keys() | self._holders, set()
        self._holders = set(formers)
        writes: list[Awaitable[object]] = [self._write_row(key, None) for key in gone]
        for key in keys:
            stored, record = f"row.{hex_key(key)}", table.records.get(key)
            if record is None:
                if stored in self._rows:
                    writes.append(self._write_row(stored, None))
                continue
            # (msgspec: json.dumps was most of a commit's time)
            value = msgspec.json.encode(row_json(record, formers.get(key)))
            known = self._rows.get(stored)
            if known is None or known[1] != value or stored in self._unsure:
                writes.append(self._write_row(stored, value))
        return writes

    async def _write_version(self, version: bytes) -> None:
        await self._table.put("version", version)
        self._version = version

    async def _write_row(self, key: str, value: bytes | None) -> None:
        try:
            try:
                revision = await self._put(key, value, self._rows.get(key, (0, b""))[0])
            except nats.js.errors.KeyWrongLastSequenceError:
                revision = await self._put(key, value, await self._landed(key))
        except ERRORS:
            self._unsure.setdefault(key, set()).add(value)
            raise
        self._unsure.pop(key, None)
        if value is None:
            self._rows.pop(key, None)
        else:
            self._rows[key] = (revision, value)

    async def _put(self, key: str, value: bytes | None, last: int) -> int:
        """Write (None: delete) `key` over revision `last` (0: none); the revision written."""
        if value is not None:
            if last:
                return await self._table.update(key, value, last=last)
            return await self._table.create(key, value)  # (over a delete too)
        try:
            if last:
                await self._table.delete(key, last=last)
        except nats.js.errors.APIError as exc:
            if exc.err_code in WRONG_LAST:
                raise nats.js.errors.KeyWrongLastSequenceError from None
            raise
        return 0

    async def _landed(self, key: str) -> int:
        """The revision of `key` if it holds a write tried unacknowledged (0: a delete)."""
        tried = self._unsure.get(key, set())
        try:
            entry = await self._table.get(key)
        except nats.js.errors.KeyNotFoundError:  # (KeyDeletedError too)
            if None in tried:
                return 0
            raise nats.js.errors.KeyWrongLastSequenceError from None
        if entry.value not in tried or entry.revision is None:
            raise nats.js.errors.KeyWrongLastSequenceError
        return entry.revision


async def _at_most(count: int, writes: list[Awaitable[object]]) -> None:
    """Await `writes`, `count` at a time; after one fails none more is begun (each would take
    its whole timeout), and the first error is raised."""
    gate = asyncio.Semaphore(count)
    failed = False

    async def gated(write: Awaitable[object]) -> None:
        nonlocal failed
        async with gate:
            if failed:
                if asyncio.iscoroutine(write):
                    write.close()  # (never begun: nothing of it was sent)
                return
            try:
                await write
            except BaseException:
                failed = True
                raise

    outcomes = await asyncio.gather(*(gated(write) for write in writes), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def _independent_run(actions: list[StoreAction]) -> list[StoreAction]:
    """The longest head of `actions` to write at once: appends, and distinct keys' histories
    and owners."""
    run: list[StoreAction] = []
    keys: set[tuple[type, str]] = set()
    for action in actions:
        if isinstance(action, StoreMail):
            run.append(action)
            continue
        if isinstance(action, KeepHistory):
            key: tuple[type, str] = (KeepHistory, action.room)
        elif isinstance(action, KeepOwner):
            key = (KeepOwner, action.box)
        elif isinstance(action, DeskRecord):
            key = (DeskRecord, action.name)
        else:
            return run or [action]
        if key in keys:
            return run
        keys.add(key)
        run.append(action)
    return run


def _mail_key(owner: str, message: StoredMessage) -> str:
    # (a notice has no sender: no token may be empty)
    return f"{hex_key(owner)}.{hex_key(message.sender + chr(0) + message.id)}"


async def entries(bucket: KeyValue) -> dict[str, tuple[int, bytes]]:
    """Every live key of `bucket` with its revision and value. Under load a watch may end too
    early: it is read again until it gave as many keys as the bucket holds."""
    for _ in range(WATCH_TRIES):
        found: dict[str, tuple[int, bytes]] = {}
        seen = 0  # (deleted keys too)
        watcher = await bucket.watchall()
        try:  # (nats-py's watch may never say it gave all: a silent one ends the read)
            while (entry := await watcher.updates(WATCH_SILENCE)) is not None:  # type: ignore[no-untyped-call]
                seen += 1
                if entry.operation is None:  # (a put: deletes and purges name an operation)
                    assert entry.revision is not None
                    found[entry.key] = (entry.revision, entry.value or b"")
        except nats.errors.TimeoutError:
            pass
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        if seen >= (await bucket.status()).stream_info.state.messages:
            break
    return found
