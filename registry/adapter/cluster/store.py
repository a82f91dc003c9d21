"""The service's state in NATS JetStream: the store of the registries of one service.

What is kept where (docs/SCALING.md):
    bucket CHATAPP_TABLE    one row per name (`row.<name key in hex>`), and `version`
    bucket CHATAPP_OWNERS   what each mailbox kept of its owner (registry/core/table.py, Owner)
    bucket CHATAPP_ROOMS    each room's last lines
    stream CHATAPP_MAIL     one message per stored message, on `chatapp.mail.<owner in hex>`

Every write of a commit is acknowledged by JetStream (by a majority of its servers, where
it keeps three copies) before `commit` returns, so the registry's answers that wait for the
commit (registry/adapter/commit.py) claim nothing JetStream does not have.

A commit writes the rows its SaveTables named (registry/core/actions.py), each only when its
text changed, and the rows of renamed names (their former names change as others take
them): the work of a commit follows what changed, not the table's size. A commit after one
that failed compares every row.

A row is written only with the revision this store last read or wrote of it
(compare-and-set): a registry that no longer decides for the service cannot overwrite
what the one that does wrote. It finds out as its commit fails with `Superseded`.
A write that JetStream did not acknowledge in time may have been stored all the same: the
row is then found with the text this store tried to write, and taken as written, not as
another registry's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.kv import KeyValue

from registry.adapter.cluster.connect import with_replicas
from registry.adapter.storage import StorageError
from registry.adapter.store import Kept, StoreAction
from registry.core.actions import (
    DropHistory,
    DropMail,
    KeepHistory,
    KeepOwner,
    MoveMail,
    SaveTable,
    StoreMail,
)
from registry.core.table import Owner, Table, row_json
from wire.codec import decode, encode
from wire.errors import DecodeError
from wire.messages import RoomMessage, StoredMessage

#: Reads of a bucket that gave fewer keys than it holds, before the last is taken as it is.
WATCH_TRIES = 5
#: Writes of one commit waiting for JetStream's answer at once. Sent all at once, a thousand
#: rows of a join storm waited longer for their answers than JetStream's timeout: the commit
#: failed, and was sent again, for half a minute; a few dozen at a time keep each answer near
#: a round trip, and the whole as fast.
IN_FLIGHT = 64
TABLE, OWNERS, ROOMS, MAIL = "CHATAPP_TABLE", "CHATAPP_OWNERS", "CHATAPP_ROOMS", "CHATAPP_MAIL"
MAIL_SUBJECT = "chatapp.mail"
#: Errors of a write that JetStream did not acknowledge (it is kept for the next commit).
WRITE_ERRORS = (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError)
#: JetStream's codes for a write over another revision than the one it expected.
WRONG_LAST = (10071, 10164)
#: Seconds within which JetStream answers a save published again with the copy it stored
#: (the stream's duplicate window, NATS's default): see JetStreamStore._publish.
DUPLICATE_WINDOW = 120.0


class Superseded(StorageError):
    """Another registry wrote a row this one was about to change: it decides for the
    service now, and this one must stop deciding."""


def hex_key(name: str) -> str:
    """A name key as a NATS key or subject token (names may hold any letter)."""
    return name.encode().hex()


class JetStreamStore:
    """The registry's state in JetStream (see the module's docstring). Made by `open`."""

    def __init__(self, js: JetStreamContext, buckets: dict[str, KeyValue]) -> None:
        self._js = js
        #: run before each commit's writes: raises Superseded when this registry no longer
        #: decides for the service (registry/adapter/cluster/lead.py), so that what it would write
        #: is never stored
        self.fence: Callable[[], Awaitable[None]] | None = None
        self._table, self._owners, self._rooms = buckets[TABLE], buckets[OWNERS], buckets[ROOMS]
        self._actions: list[_Queued] = []
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
        # the mailboxes as stored: each message with its stream sequence, by owner
        self._boxes: dict[str, list[tuple[int, StoredMessage]]] = {}

    @classmethod
    async def open(cls, js: JetStreamContext) -> JetStreamStore:
        """The service's buckets and stream, made by the first registry that needs them."""
        buckets = {}
        for name in (TABLE, OWNERS, ROOMS):
            buckets[name] = await with_replicas(
                lambda n, name=name: js.create_key_value(  # type: ignore[misc]
                    KeyValueConfig(bucket=name, storage=StorageType.FILE, replicas=n)
                )
            )
        await with_replicas(
            lambda n: js.add_stream(
                StreamConfig(
                    name=MAIL,
                    subjects=[f"{MAIL_SUBJECT}.*"],
                    storage=StorageType.FILE,
                    num_replicas=n,
                )
            )
        )
        return cls(js, buckets)

    # -- loading ------------------------------------------------------------------------

    async def load(self, now: float) -> Kept:
        """Everything kept, as a registry that starts to decide for the service needs it."""
        rows = await entries(self._table)
        version = self._version = rows.pop("version", (0, b"0"))[1]
        read = {
            key: (revision, json.loads(value))
            for key, (revision, value) in rows.items()
            if key.startswith("row.")
        }
        # (each row as _write_table encodes it: a row written another way is not one changed)
        self._rows = {key: (revision, _row_bytes(row)) for key, (revision, row) in read.items()}
        data = {"version": int(version), "names": [row for _, row in read.values()]}
        try:
            table = Table.from_json(data, now)
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"the service's table is not a ChatApp table: {exc}") from None
        self._holders = set(table.formers())
        owners = {}
        for key, (_, value) in (await entries(self._owners)).items():
            owners[bytes.fromhex(key).decode()] = Owner.from_json(json.loads(value))
        histories = {}
        for key, (_, value) in (await entries(self._rooms)).items():
            histories[bytes.fromhex(key).decode()] = _history(value)
        await self._load_mail()
        mail = {owner: _once(box) for owner, box in self._boxes.items() if box}
        return Kept(table, mail, owners, histories)

    async def _load_mail(self) -> None:
        """Every stored message, in the order stored, each copy with its own sequence (a
        commit tried again writes again what its first try stored): a message dropped
        drops every copy."""
        self._boxes = {}
        seq = 1
        while True:
            try:
                msg = await self._js.get_msg(MAIL, seq=seq, subject=f"{MAIL_SUBJECT}.*", next=True)
            except nats.js.errors.NotFoundError:
                return
            assert msg.seq is not None and msg.subject is not None
            seq = msg.seq + 1
            owner = bytes.fromhex(msg.subject.rpartition(".")[2]).decode()
            message = msgspec.json.decode(msg.data or b"", type=StoredMessage)
            self._boxes.setdefault(owner, []).append((msg.seq, message))

    # -- writing ------------------------------------------------------------------------

    def carry_out(self, action: StoreAction) -> None:
        if isinstance(action, SaveTable):
            self._table_dirty = True
            if action.rows is None or self._named is None:
                self._named = None
            else:
                self._named.update(action.rows)
        else:
            self._actions.append(_Queued(action, secrets.token_hex(8)))

    @property
    def dirty(self) -> bool:
        return self._table_dirty or bool(self._actions)

    async def commit(self, table: Table) -> float:
        """Write what waits, in order (a run of appends and kept lines at once), then the
        table's changed rows; anything not acknowledged waits for the next commit. The time
        it took to find the changed rows is returned as the time it kept the registry busy
        (registry/adapter/store.py): while JetStream answers, the registry goes on, and a commit
        that waits longer for it is no reason to wait as long again before the next."""
        busy = 0.0
        if self.fence is not None and self.dirty:
            try:
                await self.fence()
            except WRITE_ERRORS as exc:
                raise StorageError(f"JetStream did not answer ({_reason(exc)})") from None
        while self._actions:
            run = _independent_run(self._actions)
            try:
                await _at_most(IN_FLIGHT, [self._write(queued) for queued in run])
            except WRITE_ERRORS as exc:
                raise StorageError(f"JetStream did not store it ({_reason(exc)})") from None
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

    async def _write(self, queued: _Queued) -> None:
        """Carry out one action (each may be carried out again after a failure)."""
        match queued.action:
            case StoreMail(owner, message):
                await self._publish(queued, owner, message)
            case DropMail(owner, ids):
                gone = set(ids)
                for seq, message in list(self._boxes.get(owner, [])):
                    if message.id in gone:
                        await self._delete(seq)
                        self._boxes[owner].remove((seq, message))
            case MoveMail(old, new):
                for seq, message in list(self._boxes.get(old, [])):
                    await self._publish(queued, new, message)
                    await self._delete(seq)
                    self._boxes[old].remove((seq, message))
            case KeepOwner(box, owner):
                await self._owners.put(hex_key(box), json.dumps(owner.to_json()).encode())
            case KeepHistory(room, history):
                await self._rooms.put(hex_key(room), b"\n".join(encode(m) for m in history))
            case DropHistory(room):
                await self._rooms.delete(hex_key(room))

    async def _publish(self, queued: _Queued, owner: str, message: StoredMessage) -> None:
        """Store one copy of `message` in the mailbox of `owner`. Published again after its
        acknowledgement was lost, it has the same id, and JetStream answers with the copy it
        stored (within the stream's duplicate window): the copy delivery deletes is the one
        stored. Once acknowledged, the next copy (the commit made again whole, so that the
        order saved holds) is a copy of its own, with a new id."""
        ack = await self._js.publish(
            _subject(owner),
            msgspec.json.encode(message),
            headers={"Nats-Msg-Id": f"{queued.token}.{queued.acked}"},
        )
        queued.acked += 1
        self._boxes.setdefault(owner, []).append((ack.seq, message))

    async def _delete(self, seq: int) -> None:
        with contextlib.suppress(nats.js.errors.NotFoundError):  # (deleted by a failed commit)
            await self._js.delete_msg(MAIL, seq)

    async def _write_table(self, table: Table, named: set[str] | None) -> float:
        """Write the rows of `named` (name keys; None: every row) that changed since last
        written, each only over the revision this store knows of it; raise Superseded
        when another registry wrote one since. The seconds taken to find them."""
        started = time.monotonic()
        writes = self._row_writes(table, named)
        version = str(table.version).encode()
        if version != self._version:
            writes.append(self._write_version(version))
        busy = time.monotonic() - started
        try:
            # (with the rows, not after them: an answer leaves once all are stored, and a
            # round trip more held every answer in a join storm)
            await _at_most(IN_FLIGHT, writes)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise Superseded(
                "another registry of the service changed the table: it decides for the service now"
            ) from None
        except WRITE_ERRORS as exc:
            raise StorageError(f"JetStream did not store the table ({_reason(exc)})") from None
        return busy

    def _row_writes(self, table: Table, named: set[str] | None) -> list[Awaitable[None]]:
        """The writes of the rows of `named` (None: all) whose text is not the one last
        written, with the rows of every name that has or had former names; a row no longer
        in the table is deleted."""
        formers = table.formers()
        if named is None:
            keys: set[str] | Iterable[str] = table.records.keys()
            gone = set(self._rows) - {f"row.{hex_key(key)}" for key in keys}
        else:
            keys, gone = named | formers.keys() | self._holders, set()
        self._holders = set(formers)
        writes: list[Awaitable[None]] = [self._delete_row(key) for key in gone]
        for key in keys:
            stored, record = f"row.{hex_key(key)}", table.records.get(key)
            if record is None:
                if stored in self._rows:
                    writes.append(self._delete_row(stored))
                continue
            value = _row_bytes(row_json(record, formers.get(key)))
            known = self._rows.get(stored)
            if known is None or known[1] != value:
                writes.append(self._write_row(stored, value))
        return writes

    async def _write_version(self, version: bytes) -> None:
        await self._table.put("version", version)
        self._version = version

    async def _write_row(self, key: str, value: bytes) -> None:
        known = self._rows.get(key)
        try:
            try:
                if known is None:
                    revision = await self._table.create(key, value)
                else:
                    revision = await self._table.update(key, value, last=known[0])
            except nats.js.errors.KeyWrongLastSequenceError:
                last = await self._landed(key)
                revision = await self._table.update(key, value, last=last)
        except WRITE_ERRORS:
            self._unsure.setdefault(key, set()).add(value)
            raise
        self._unsure.pop(key, None)
        self._rows[key] = (revision, value)

    async def _delete_row(self, key: str) -> None:
        try:
            try:
                await self._table.delete(key, last=self._rows[key][0])
            except nats.js.errors.APIError as exc:
                if exc.err_code not in WRONG_LAST:
                    raise
                last = await self._landed(key)
                if last:
                    await self._table.delete(key, last=last)
        except WRITE_ERRORS:
            self._unsure.setdefault(key, set()).add(None)
            raise
        self._unsure.pop(key, None)
        del self._rows[key]

    async def _landed(self, key: str) -> int:
        """A write of row `key` found another revision than this store knows: the revision
        of a write this store tried and was not told of (0 for a row it deleted so), else
        KeyWrongLastSequenceError (another registry wrote it)."""
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


async def _at_most(count: int, writes: list[Awaitable[None]]) -> None:
    """Await `writes`, `count` at most at a time; after one fails, none more is begun (the
    commit fails, and is made again whole); the first error is raised once those begun are
    over (each may have been stored: see JetStreamStore._landed). Each write JetStream
    leaves unanswered takes its whole timeout: begun after a failure, a storm's thousand
    rows kept a failed commit going, and every answer withheld, for a minute and more."""
    gate = asyncio.Semaphore(count)
    failed = False

    async def gated(write: Awaitable[None]) -> None:
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


@dataclass(slots=True)
class _Queued:
    """An action waiting for a commit; for the mail it publishes, the id of its next copy
    (`token`.`acked`: see JetStreamStore._publish)."""

    action: StoreAction
    token: str
    acked: int = 0


def _independent_run(actions: list[_Queued]) -> list[_Queued]:
    """The longest run at the head of `actions` that may be written at once: appends (one
    connection keeps their order) and kept histories and owners of distinct keys."""
    run: list[_Queued] = []
    keys: set[tuple[type, str]] = set()
    for queued in actions:
        action = queued.action
        if isinstance(action, StoreMail):
            run.append(queued)
            continue
        if isinstance(action, KeepHistory | DropHistory):
            key: tuple[type, str] = (KeepHistory, action.room)
        elif isinstance(action, KeepOwner):
            key = (KeepOwner, action.box)
        else:
            return run or [queued]
        if key in keys:
            return run
        keys.add(key)
        run.append(queued)
    return run


def _once(box: list[tuple[int, StoredMessage]]) -> list[StoredMessage]:
    """Each message of a mailbox once, at the place of its last copy. A failed commit is
    made again whole, in order: a message of its run whose first publish went unanswered
    lands after later ones that were stored, and their copies from the second try follow it
    in the order saved."""
    last: dict[tuple[str, str], StoredMessage] = {}
    for _, message in box:
        key = (message.sender, message.id)
        last.pop(key, None)
        last[key] = message
    return list(last.values())


def _subject(owner: str) -> str:
    return f"{MAIL_SUBJECT}.{hex_key(owner)}"


def _history(value: bytes) -> list[RoomMessage]:
    kept = []
    for line in value.split(b"\n"):
        try:
            message = decode(line)
        except DecodeError:
            continue
        if isinstance(message, RoomMessage):
            kept.append(message)
    return kept


async def entries(bucket: KeyValue) -> dict[str, tuple[int, bytes]]:
    """Every key of `bucket` (a bucket of one revision per key) with its revision and
    value, deleted keys left out. A watch may say it has given everything before it has,
    under load: it is read again until it gave as many keys, deleted or not, as the
    bucket holds messages (WATCH_TRIES at most)."""
    for _ in range(WATCH_TRIES):
        found, seen = await _watched(bucket)
        if seen >= (await bucket.status()).stream_info.state.messages:
            break
    return found


async def _watched(bucket: KeyValue) -> tuple[dict[str, tuple[int, bytes]], int]:
    """The keys a watch of `bucket` gave before it said it gave all, and how many it gave
    (deleted ones included)."""
    found: dict[str, tuple[int, bytes]] = {}
    seen = 0
    watcher = await bucket.watchall()
    try:
        async for entry in watcher:
            if entry is None:
                break
            seen += 1
            if entry.operation is None:  # (a put: deletes and purges name an operation)
                assert entry.revision is not None
                found[entry.key] = (entry.revision, entry.value or b"")
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
    return found, seen


def _reason(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


def _row_bytes(row: dict[str, Any]) -> bytes:
    """A row of the table as the bucket holds it (JSON: msgspec's encoder, as a commit
    encodes each row it may write to find those changed, and json.dumps was most of that)."""
    return msgspec.json.encode(row)
