"""A backend takes the core's store actions as they come and makes them durable together at
`commit`; `FileStore` and `JetStreamStore` (cluster/store.py) keep one contract.

FileStore's files (docs/SCALING.md, "What is kept where"): `table.json`; `mail/<name>.jsonl`,
one JSON line per stored message in the order received, fsynced before the registry
acknowledges it (a line that is not one is moved to `<box>.unreadable`); `mail/<name>.owner.json`;
`rooms/<room key>.jsonl`, a room's last lines as the wire encodes them, oldest first, not
fsynced (nothing is acknowledged on their account); the help desk's records (`DeskRecord`),
written at once. A rewrite replaces a file whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from msgspec import Struct
from msgspec.structs import astuple

from disk.files import append_bytes, fsync_dir, parse_json, read_bytes, read_text, replace_durably
from registry.core.actions import (
    DropMail,
    KeepHistory,
    KeepOwner,
    MoveMail,
    Owner,
    SaveTable,
    StoreMail,
)
from registry.core.rooms import ROOM_HISTORY
from registry.core.table import Table, owner_from_json, row_json
from wire.codec import DecodeError, decode, encode
from wire.limits import MAX_AFTER
from wire.messages import RoomMessage, StoredMessage
from wire.names import name_problem


class DeskRecord(Struct, frozen=True):
    """Replace the help desk's record `name` with `data` (None: remove it)."""

    name: str
    data: bytes | None


StoreAction = StoreMail | DropMail | MoveMail | KeepOwner | SaveTable | KeepHistory | DeskRecord
STORE_ACTIONS = (StoreMail, DropMail, MoveMail, KeepOwner, SaveTable, KeepHistory, DeskRecord)

#: Set aside under its name plus this: a mailbox's lines that are not messages, a desk record.
UNREADABLE = ".unreadable"
#: What a mailbox keeps of its owner: its owner's name key plus this.
OWNER = ".owner.json"
#: Mailbox paths kept, by owner (FileStore._box); past this many they are all forgotten.
BOX_PATHS_KEPT = 1024
#: What a damaged table.json says: the registry does not start, and what to do about it.
_TABLE_DAMAGED = (
    "{path} is damaged ({why}), so the registry did not start: put back a copy of it, or "
    "move it aside, and the names are rebuilt from the mailboxes "
    '(docs/GUIDE.md, "Kill and crash safety")'
)

#: How a row of table.json is written: on one line, readable, by the C encoder.
_ROW = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


class StorageError(Exception):
    """The data directory cannot be used (unreadable, not ours, corrupt table), or a service's
    folder or NATS servers (the message says why)."""


#: table.json's rows as last written, by name key: the record's state then, and the row.
Rows = dict[str, tuple[tuple[Any, ...], str]]


def table_text(table: Table, rows: Rows | None = None, named: set[str] | None = None) -> str:
    """`table` as table.json's text, one name to a line; with `rows` (kept up to date here), an
    unchanged row is reused, and with `named` (SaveTable's keys) only those and the rows with
    former names, then or now, are looked at."""
    formers, kept = table.formers(), rows if rows is not None else {}
    lines, fresh = [], {}
    for key, record in table.records.items():
        was = kept.get(key)
        if was is None or named is None or key in named or key in formers or was[0][2]:
            former = formers.get(key)
            # (its list of names written to changes in place: a copy tells)
            state = (astuple(record), tuple(record.wrote_to or ()), tuple(former or ()))
            if was is None or was[0] != state:
                was = (state, _ROW.encode(row_json(record, former)))
        fresh[key] = was
        lines.append(was[1])
    if rows is not None:
        rows.clear()
        rows.update(fresh)
    unpushed = _ROW.encode([list(astuple(e)) for e in table.unpushed.values()])
    names = ",\n".join(lines)
    return f'{{"version": {table.version}, "names": [\n{names}\n], "unpushed": {unpushed}}}\n'


def is_key(name: str) -> bool:
    """Whether `name` is a name key: the last gate before a path (none leaves its folder)."""
    return not name_problem(name) and name == name.casefold()


def mail_lines(messages: list[StoredMessage]) -> str:
    return "".join(mail_line(m) for m in messages)


#: Characters some readers take for a line break and json.dumps leaves raw: escaped.
_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


#: A mailbox line as json.dumps(message._asdict(), ensure_ascii=False) writes it, from a
#: template (twice as fast); `after` only when the message has one.
_LINE = '{"id": %s, "sender": %s, "text": %s, "stamp": %s, "kind": %s, "saved_by": %s}'
_LINE_AFTER = _LINE[:-1] + ', "after": %s}'
_json_str = json.encoder.encode_basestring  # a JSON string, non-ASCII left as it is


def mail_line(message: StoredMessage) -> str:
    if message.after:
        line = _LINE_AFTER % tuple(map(_json_str, message))
    else:
        line = _LINE % tuple(map(_json_str, message[:-1]))
    if not line.isascii():  # rare, and translate costs as much as the rest
        line = line.translate(_LINE_BREAKS)
    return line + "\n"


def from_json(data: Any) -> StoredMessage:
    """The message of a mailbox line's JSON; raises ValueError, KeyError or TypeError."""
    fields = [data[k] for k in ("id", "sender", "text", "stamp", "kind")]
    fields.append(data.get("saved_by", ""))  # not in a line of an older registry
    fields.append(data.get("after", ""))  # only in a line of a message that has one
    if not all(isinstance(v, str) for v in fields) or len(fields[-1]) > MAX_AFTER:
        raise ValueError("not a stored message")
    return StoredMessage(*fields)


def room_lines(data: bytes) -> tuple[list[RoomMessage], int]:
    """The room messages of `data`, one a line as encoded; how many lines were not one."""
    kept, skipped = [], 0
    for line in filter(bytes.strip, data.split(b"\n")):
        try:
            message = decode(line)
        except DecodeError:
            message = None
        if isinstance(message, RoomMessage):
            kept.append(message)
        else:
            skipped += 1
    return kept, skipped


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

    def desk_record(self, name: str) -> bytes:
        """The help desk's record `name` as last carried out; FileNotFoundError for none, or
        OSError."""

    def where(self, name: str) -> str:
        """Where the help desk's record `name` is kept, as the log says it."""

    @property
    def dirty(self) -> bool: ...

    async def commit(self, table: Table) -> float:
        """Make what waits durable; the seconds it kept the event loop busy."""


class FileStore:
    """The data directory: `commit` writes in a thread of its own; rooms' lines go at once
    (their errors logged, not raised)."""

    def __init__(self, root: Path, log: Callable[[str], None] = lambda line: None) -> None:
        """`log` is told of every line of a mailbox moved aside, and of rooms' failures."""
        self.root = root
        self.mail_dir = root / "mail"
        self.rooms_dir = root / "rooms"
        try:
            self.mail_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except FileExistsError:
            raise StorageError(
                f"cannot use data directory {root}: {self.mail_dir} is not a directory"
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot use data directory {root}: {exc.strerror}") from None
        self._log = log
        self._waiting: deque[Callable[[], None]] = deque()
        self._table_dirty = False
        # the name keys of the rows changed since the last commit (None: any may have)
        self._named: set[str] | None = None
        self._rows: Rows = {}
        # lines appended with sync=False, not yet written: one write per file at `sync`
        self._pending: dict[Path, list[str]] = {}
        # mailbox paths by owner, checked once: saves come by the thousand per second
        self._boxes: dict[str, Path] = {}
        # lines in each room's file, as far as this process wrote or read them
        self._room_lines: dict[str, int] = {}
        self._failed = ""  # the last rooms' error logged, so that one failing disk says so once

    def load(self, now: float) -> Kept:
        return Kept(self.load_table(now), self.load_mail(), self.load_owners(), self.load_rooms())

    def carry_out(self, action: StoreAction) -> None:
        match action:
            case SaveTable(rows):
                self._table_dirty, self._named = True, named_rows(self._named, rows)
            case KeepHistory(room, history):
                self.keep_history(room, history)
            case MoveMail(old, new):
                self._box(old)
                self._wait(new, self.move, old, new)
            case StoreMail(box, message):  # (its line made here, not in the commit's thread)
                self._wait(box, self.append_line, box, mail_line(message), sync=False)
            case DropMail(box, ids):
                self._wait(box, self.drop, box, ids)
            case KeepOwner(box, owner):
                self._wait(box, self.keep_owner, box, owner)
            case DeskRecord(name, None):
                (self.root / name).unlink(missing_ok=True)
            case DeskRecord(name, bytes() as data):
                replace_durably(self.root / name, data)

    def desk_record(self, name: str) -> bytes:
        return read_bytes(self.root / name)

    def where(self, name: str) -> str:
        return str(self.root / name)

    def _wait(self, box: str, write: Callable[..., None], *args: Any, **kw: Any) -> None:
        """`write(*args, **kw)` at the next commit; a name that is not a box fails now."""
        self._box(box)
        self._waiting.append(functools.partial(write, *args, **kw))

    @property
    def dirty(self) -> bool:
        return self._table_dirty or bool(self._waiting) or bool(self._pending)

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
            self.write_table(text)
        self.sync()

    def load_table(self, now: float) -> Table:
        """The saved table, or an empty one if there is none yet. StorageError for one that
        cannot be read: the registry does not start without the names it keeps."""
        path = self.root / "table.json"
        try:
            data = parse_json(read_text(path))
        except FileNotFoundError:
            return Table()
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (ValueError, RecursionError) as exc:
            raise StorageError(_TABLE_DAMAGED.format(path=path, why=exc)) from None
        try:
            return Table.from_json(data, now)
        except (ValueError, KeyError, TypeError) as exc:
            why = f"not a ChatApp table: {exc}"
            raise StorageError(_TABLE_DAMAGED.format(path=path, why=why)) from None

    def write_table(self, text: str) -> None:
        replace_durably(self.root / "table.json", text.encode())

    def load_mail(self) -> dict[str, list[StoredMessage]]:
        """Every mailbox, by owner key, rewritten without lines that are not messages.
        Raises StorageError for a mailbox that cannot be read at all."""
        boxes: dict[str, list[StoredMessage]] = {}
        for owner, path in self._files(".jsonl"):
            try:
                messages = self._read_box(path, tidy=True)
            except OSError as exc:
                raise StorageError(f"cannot read mailbox {path}: {exc.strerror}") from None
            if messages:
                boxes[owner] = messages
        return boxes

    def load_owners(self) -> dict[str, Owner]:
        """What each mailbox keeps of its owner, by box; one unreadable is logged."""
        owners: dict[str, Owner] = {}
        for box, path in self._files(OWNER):
            try:
                owners[box] = owner_from_json(parse_json(read_text(path)))
            except (OSError, ValueError, RecursionError) as exc:
                self._log(f"{path}: not a mailbox's owner ({exc}); its mailbox is kept for nobody")
        return owners

    def keep_owner(self, box: str, owner: Owner) -> None:
        replace_durably(self._owner_path(box), (json.dumps(owner.to_json()) + "\n").encode())

    def _owner_path(self, box: str) -> Path:
        return self._box(box).with_name(f"{box}{OWNER}")

    def _remove(self, box: str, path: Path) -> None:
        path.unlink(missing_ok=True)
        self._owner_path(box).unlink(missing_ok=True)

    def append_line(self, owner: str, line: str, *, sync: bool = True) -> None:
        """Append one `mail_line` to `owner`'s mailbox, durably; with `sync=False`, at the
        next `sync()`."""
        self._pending.setdefault(self._box(owner), []).append(line)
        if sync:
            self.sync()

    def sync(self) -> None:
        """Write and fsync every append waiting; on an error they keep waiting."""
        pending, self._pending = self._pending, {}
        new_file = False
        done: list[Path] = []
        try:
            for path, lines in pending.items():
                new_file = new_file or not path.exists()
                append_bytes(path, "".join(lines).encode(), fsync=True)
                done.append(path)
            if new_file:
                fsync_dir(self.mail_dir)  # a new file's directory entry must be durable too
        except OSError:
            for path, lines in pending.items():
                if path not in done:  # a newline first: a torn piece stays a line of its own
                    self._pending.setdefault(path, [])[:0] = ["\n", *lines]
                elif new_file:  # written, its directory entry perhaps not
                    self._pending.setdefault(path, [])[:0] = lines
            raise

    def drop(self, owner: str, ids: tuple[str, ...]) -> None:
        self.sync()  # what waits is part of the file being rewritten
        path = self._box(owner)
        gone = set(ids)
        keep = [m for m in self._read_box(path) if m.id not in gone]
        if keep:
            replace_durably(path, mail_lines(keep).encode())
        else:
            self._remove(owner, path)
            fsync_dir(self.mail_dir)

    def move(self, old: str, new: str) -> None:
        """Append `old`'s mailbox to `new`'s (a rename)."""
        self.sync()
        src, dst = self._box(old), self._box(new)
        messages = self._read_box(dst) + self._read_box(src)
        if messages:
            replace_durably(dst, mail_lines(messages).encode())
        if src != dst:
            self._remove(old, src)  # the registry keeps the owner anew beside `new`
        fsync_dir(self.mail_dir)

    def _files(self, suffix: str) -> Iterator[tuple[str, Path]]:
        """The files of mailboxes ending in `suffix`, each with its box (others are logged)."""
        for path in sorted(self.mail_dir.glob(f"*{suffix}")):
            if is_key(box := path.name.removesuffix(suffix)):
                yield box, path
            else:
                self._log(f"{path}: not a mailbox's name; left alone")

    def _box(self, owner: str) -> Path:
        if (path := self._boxes.get(owner)) is not None:
            return path
        if not is_key(owner):
            raise StorageError(f"refusing mailbox name {owner!r}")
        if len(self._boxes) >= BOX_PATHS_KEPT:
            self._boxes.clear()
        path = self._boxes[owner] = self.mail_dir / f"{owner}.jsonl"
        return path

    def _read_box(self, path: Path, *, tidy: bool = False) -> list[StoredMessage]:
        """The messages of `path`; its other lines are moved to its UNREADABLE file and logged
        (with `tidy`, also removed from it)."""
        try:
            # split at "\n" only: str.splitlines() also breaks at U+2028 and the like
            lines = read_text(path, errors="replace").split("\n")
        except FileNotFoundError:
            return []
        # by sender and id: a write retried after an error may have put a line down twice
        messages: dict[tuple[str, str], StoredMessage] = {}
        unreadable: list[str] = []
        for line in filter(str.strip, lines):  # (a blank one: see `sync`)
            try:
                message = from_json(parse_json(line))
            except (ValueError, KeyError, TypeError, RecursionError):
                unreadable.append(line + "\n")
                continue
            messages.setdefault((message.sender, message.id), message)
        if unreadable:
            aside = path.with_name(path.name + UNREADABLE)
            append_bytes(aside, "".join(unreadable).encode(), fsync=True)
            if len(unreadable) == 1:
                some = "1 line that is not a message"
            else:
                some = f"{len(unreadable)} lines that are not messages"
            self._log(
                f"{path}: {some} (a crash in the middle of a write leaves one; damage more) "
                f"moved to {aside.name}"
            )
            if tidy:
                replace_durably(path, mail_lines(list(messages.values())).encode())
        return list(messages.values())

    def load_rooms(self) -> dict[str, list[RoomMessage]]:
        """Each room's last ROOM_HISTORY lines, by room key, oldest first, then its topic."""
        histories: dict[str, list[RoomMessage]] = {}
        try:
            paths = sorted(self.rooms_dir.glob("*.jsonl"))
        except OSError as exc:
            self._rooms_failed(f"read {self.rooms_dir}", exc)
            return histories
        for path in paths:
            room = path.stem
            if not is_key(room):
                continue
            try:
                kept, skipped = room_lines(read_bytes(path))
            except OSError as exc:
                self._rooms_failed(f"read {path}", exc)
                continue
            if skipped:
                self._log(f"{path}: {skipped} line(s) that are not room messages skipped")
            self._room_lines[room] = len(kept) + skipped
            lines, topic = [m for m in kept if not m.topic], [m for m in kept if m.topic][-1:]
            if kept:
                histories[room] = lines[-ROOM_HISTORY:] + topic
        return histories

    def keep_history(self, room: str, history: Sequence[RoomMessage]) -> None:
        """`history` is `room`'s now, its last line new (empty: its file is removed)."""
        if not is_key(room):
            self._log(f"refusing room history file for {room!r}")
            return
        path = self.rooms_dir / f"{room}.jsonl"
        try:
            lines = self._room_lines.pop(room, None)
            if not history:
                path.unlink(missing_ok=True)
                return
            if lines is None:  # first written by this process: as many as it holds
                with contextlib.suppress(FileNotFoundError):
                    lines = read_bytes(path).count(b"\n")
            self.rooms_dir.mkdir(exist_ok=True)
            if lines is not None and lines + 1 >= 2 * ROOM_HISTORY:
                replace_durably(path, b"".join(encode(m) + b"\n" for m in history))
                self._room_lines[room] = len(history)
            else:
                append_bytes(path, encode(history[-1]) + b"\n", fsync=False)
                self._room_lines[room] = (lines or 0) + 1
        except OSError as exc:
            self._rooms_failed(f"keep the history of room {room} in {path}", exc)

    def _rooms_failed(self, what: str, exc: OSError) -> None:
        error = f"cannot {what}: {exc.strerror or exc}"
        if error != self._failed:
            self._failed = error
            self._log(f"{error}; rooms go on, and their last lines may not survive a restart")
