"""The peer's own kept state, per name under `peers/`: token, messages shown, what it sent
and has not seen delivered, room, registries, key, history, transfers. A rename moves it.
Its logs are `MappedLog`s, which a killed process keeps at almost no cost."""

from __future__ import annotations

import contextlib
import errno
import json
import mmap
import os
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Final

import msgspec

from disk.files import (
    fsync_dir,
    open_regular,
    parse_json,
    read_bytes,
    read_text,
    replace_durably,
    why_unreadable,
)
from peer.core.actions import Addr, Held, Record, Shown
from wire.codec import encode
from wire.messages import Message, address
from wire.names import name_key, name_problem


def token_path(root: Path, name: str) -> Path:
    return root / "peers" / f"{name_key(name)}.json"


class PeerStateFile:
    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.path = token_path(root, name)
        self.key_path = self._kept("key")
        self.seen_path = self._kept("seen")
        self.room_path = self._kept("room")
        self.registries_path = self._kept("registries")
        self.sending_path = self._kept("sending")
        self.history_path = self._kept("history")
        self.tickets_path = self._kept("tickets")
        self.files_path = self._kept("files")
        self.outbox_path = self._kept("outbox")  # an earlier version's
        #: What the loads found wrong, one line each for the user.
        self.problems: list[str] = []
        #: What it showed (`load_seen`): the (sender, id) of each message, each line held.
        self.seen = MappedLog(self.seen_path)
        self._seen_lines = 0
        self._compact_seen_at = SEEN_BYTES
        #: What it sent and has not seen settled: `+<message as sent>`, then `-<id>` once
        #: settled, as the core's record of it (Settling.unsettled) says.
        self.sending = MappedLog(self.sending_path)

    def load_token(self) -> str:
        """The kept token, or "" (one that cannot be read said in `problems`)."""
        try:
            data, why = parse_json(read_text(self.path)), "it holds no token"
        except FileNotFoundError:
            return ""
        except (OSError, ValueError, RecursionError) as exc:
            data, why = None, why_unreadable(exc)
        token = data.get("token") if isinstance(data, dict) else None
        if isinstance(token, str) and token:
            return token
        if not self.renamed_to():  # (a name given up by a rename is no longer ours)
            self.problems.append(
                f"Could not read your token file {self.path} ({why}); starting without it."
            )
        return ""

    def renamed_to(self) -> str:
        return self._said("renamed_to", with_token=False)

    def spelling(self) -> str:
        return self._said("name", with_token=True)

    def _said(self, key: str, *, with_token: bool) -> str:
        """The text under `key` in the token file ("": none): the name's spelling is kept
        with its token, the name a rename gave in place of it."""
        data: object = None
        with contextlib.suppress(OSError, ValueError, RecursionError):
            data = parse_json(read_text(self.path))
        if not isinstance(data, dict) or ("token" in data) != with_token:
            return ""
        said = data.get(key)
        return said if isinstance(said, str) else ""

    def save_token(self, token: str, name: str = "") -> None:
        """Keep `token`; with `name`, its spelling as the registry has it."""
        kept = {"token": token, "name": name} if name else {"token": token}
        _replace(self.path, json.dumps(kept).encode())

    def moved_to(self, name: str, token: str) -> PeerStateFile:
        """The state of `name`, after a rename to it, with `token`: all this name keeps (but
        its token file) moved there, replacing the other's. Raises OSError. Then `left_for`."""
        state = PeerStateFile(self.root, name)
        if self.path != state.path:
            self.close()  # its memory maps: some systems cannot move a mapped file
            for kind in _MOVED:  # the key goes with the name
                with contextlib.suppress(FileNotFoundError):
                    os.replace(self._kept(kind), state._kept(kind))
            _move_folder(self.files_path, state.files_path)
        state.save_token(token, name)
        return state

    def left_for(self, name: str) -> None:
        """After `moved_to(name)`, to another file: this name's file says where it went, or goes."""
        try:  # in place of the token
            _replace(self.path, json.dumps({"renamed_to": name}).encode())
        except OSError:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _kept(self, kind: str) -> Path:
        return self.path.with_suffix(f".{kind}")

    def close(self) -> None:
        self.seen.close()
        self.sending.close()

    def load_seen(self) -> list[tuple[str, str] | Held]:
        """The (sender, id) pairs shown in earlier runs, and the lines held and not shown since,
        oldest first (what cannot be read is said in `problems`)."""
        try:
            pairs, damaged = shown_records(self.seen.read())
        except OSError as exc:
            self.problems.append(
                f"Could not read {self.seen_path} ({why_unreadable(exc)}): a message shown "
                "before this start may be shown again."
            )
            return []
        pairs = pairs[-KEEP_SEEN:]
        self._seen_lines = len(pairs)
        if damaged:  # lines ChatApp does not write: said once, the file written without them
            some = "1 line" if damaged == 1 else f"{damaged} lines"
            try:
                self.seen.replace(kept_records(pairs))
            except OSError as exc:
                done = f"they stay there ({why_unreadable(exc)})"
            else:
                done = "it was dropped" if damaged == 1 else "they were dropped"
            self.problems.append(
                f"{some} of {self.seen_path} could not be read (damaged); {done}: a message "
                "shown before this start may be shown again."
            )
        return pairs

    def add_shown(self, shown: Shown) -> None:
        """Record the pairs of `shown` in one write (before their acks)."""
        pairs = shown.shown  # (a field of a Struct: read once)
        self.seen.append(seen_records(pairs))
        self._seen_lines += len(pairs)
        if self._seen_lines > 2 * KEEP_SEEN or self.seen.size > self._compact_seen_at:
            self._compact_seen()

    def hold(self, held: Held) -> None:
        """Record the line `held` until a Shown names it (before its ack)."""
        self.seen.append(msgspec.json.encode(held) + b"\n")
        if self.seen.size > self._compact_seen_at:  # (by its bytes: its text is most of them)
            self._compact_seen()

    def _compact_seen(self) -> None:  # keeps what `load_seen` returns; the next, once it doubles
        self.seen.replace(data := kept_records(self.load_seen()))
        self._compact_seen_at = max(SEEN_BYTES, 2 * len(data))

    def write_sending(
        self,
        records: list[Record],
        unsettled: Collection[Message],
        sent: tuple[Message | None, bytes] = (None, b""),  # a message as sent: its bytes
    ) -> None:
        """Write the `records` of one event to `sending` (`unsettled` after it: none clears
        it); a Sending is on disk, with every record before it, when this returns."""
        log = self.sending
        if not unsettled:
            log.clear()
            return
        if log.size > COMPACT_AT:
            log.replace(sending_records(unsettled))
            return
        data, durable, ids = b"", False, []  # ids settled in a row: written as one string
        for record in records:  # (a message: mostly the one sent, encoded once)
            if isinstance(record, str):
                ids.append(record)
                continue
            if ids:
                data, ids = data + _settled(ids), []
            if isinstance(record, tuple):  # a Sending, the one tuple: told at once
                record, durable = record.message, True
            data += b"+" + (sent[1] if record is sent[0] else encode(record)) + b"\n"
        log.append(data + _settled(ids) if ids else data)
        if durable:
            log.sync()

    def load_room(self) -> str:
        try:
            room = read_text(self.room_path).strip()
            if name_problem(room):
                raise ValueError(room)
        except FileNotFoundError:
            return ""
        except (OSError, ValueError) as exc:
            self.problems.append(
                f"Could not read {self.room_path} ({why_unreadable(exc)}); starting in no room."
            )
            return ""
        return room

    def load_registries(self, key: bytes) -> tuple[Addr, ...]:
        """The registries kept with `key`; kept with another, or damaged: said, and forgotten."""
        path = self.registries_path
        try:
            kept, *lines = read_text(path).split()
        except FileNotFoundError:
            return ()
        except (OSError, ValueError):
            kept, lines = "", []
        if kept != key.hex():
            self.problems.append(f"Not using {path}: damaged, or of another registry key.")
            with contextlib.suppress(OSError):
                path.unlink()
        return tuple(addr for addr in map(address, lines) if addr) if kept == key.hex() else ()

    def keep(self, what: str, text: str) -> None:
        _replace(self._kept(what), text.encode())

    def load_tickets(self) -> dict[str, str]:
        """The mailbox tickets others handed us; a damaged file is passed over."""
        try:
            held = parse_json(read_text(self.tickets_path))
        except (OSError, ValueError, RecursionError):
            return {}
        ok = isinstance(held, dict) and all(type(v) is str for v in held.values())
        return held if ok else {}


#: Shown message ids kept between runs; older ones are forgotten when the file is compacted.
KEEP_SEEN = 20_000
#: Compacted past this size too (a line held is written with its text), then as it doubles.
SEEN_BYTES = 8 * 1024 * 1024
#: Bytes of records after which `sending` is rewritten with only the open ones (it is
#: otherwise cleared whenever none is open, nearly always).
COMPACT_AT = 1024 * 1024


def sending_records(messages: Iterable[Message]) -> bytes:
    return b"".join([b"+" + encode(m) + b"\n" for m in messages])


def _settled(ids: list[str]) -> bytes:  # the records of the messages `ids`, settled
    return ("-" + "\n-".join(ids) + "\n").encode()


#: The files set aside, and an outbox kept apart by earlier versions: moved by a rename.
_APART = ("sending.unreadable", "outbox", "outbox.unreadable")
#: The files a rename moves to the new name's, by kind (the transfers' folder apart).
_MOVED = ("seen", "room", "registries", "sending", "key", "history", "tickets", *_APART)


def _move_folder(old: Path, new: Path) -> None:
    """Move the folder `old` to `new`, file by file into it when `new` holds files."""
    try:
        os.replace(old, new)
        return
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    for entry in old.iterdir():
        os.replace(entry, new / entry.name)
    old.rmdir()


def _replace(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, durably; no data: no file."""
    if not data:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_durably(path, data)


#: Renames followed at start, at most (a chain of renames; a loop cannot last longer).
MAX_RENAMES_FOLLOWED = 8


def follow_renames(root: Path, name: str) -> str:
    """The name to start as for `-c <name>`: `name`, or the name it was renamed to here."""
    current = name
    for _ in range(MAX_RENAMES_FOLLOWED):
        new = PeerStateFile(root, current).renamed_to()
        if not new or name_key(new) == name_key(name):
            break
        current = new
    kept = PeerStateFile(root, current)
    if current != name and kept.load_token():
        # as spelled now: a later rename may have changed only its case
        spelled = kept.spelling()
        return spelled if name_key(spelled) == name_key(current) else current
    return name


#: Bytes a log grows by: its file is NUL-padded to a whole number of them.
CHUNK = 64 * 1024


def complete_records(data: bytes) -> bytes:
    """A log's bytes up to the end of its last complete record (one with its newline)."""
    return data[: data.rstrip(b"\0").rfind(b"\n") + 1]


class MappedLog:
    """Records, each ending in a newline, appended to a file (this user's only) through a
    shared memory map: a killed process keeps them as it keeps a write(2), with no system
    call; a power cut may not. Blocks are reserved as it grows: a full disk is an OSError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        #: Bytes of records written since opened or last cleared: where the next one goes.
        self.size = 0

    def read(self) -> list[bytes]:
        """The complete records, oldest first, without their newlines. Raises OSError."""
        try:
            data = read_bytes(self.path)
        except FileNotFoundError:
            return []
        lines = complete_records(data).split(b"\n")[:-1]
        return [line for line in lines if b"\0" not in line]

    def append(self, data: bytes) -> None:
        mapped = self._map
        if mapped is None or self.size + len(data) > len(mapped):
            mapped = self._open(len(data))
        self.size += mapped.write(data)  # at `size`, where the map's position is kept

    def sync(self) -> None:
        if self._map is not None:
            self._map.flush()
            fsync_dir(self.path.parent)

    def clear(self) -> None:
        """Forget every record (NULs over them); a kill meanwhile leaves some of them."""
        if self._map is None and self.path.exists():  # (moved here by a rename, say)
            self._open(0)
        if self._map is not None and self.size:
            self._map[: self.size] = bytes(self.size)
            self._map.seek(0)
            self.size = 0

    def replace(self, data: bytes) -> None:
        """Make `data` the file's whole content: a kill leaves the old records or the new."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(self.path, data)

    def close(self) -> None:
        """Unmap the file; the next append maps it again, after the records it then holds."""
        if self._map is not None:
            self._map.close()
            self._map = None
        self.size = 0

    def _open(self, room: int) -> mmap.mmap:
        if growing := self._map is not None:
            self._map.close()  # mapped again, larger: rare, a chunk at a time
            self._map = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # readable by this user only (a file from an earlier version, made 0644, is made
        # private too): it says who talked to whom
        fd = open_regular(self.path, os.O_RDWR | os.O_CREAT)
        try:
            os.fchmod(fd, 0o600)
            if not growing:
                self.size = len(complete_records(os.pread(fd, os.fstat(fd).st_size, 0)))
                # NUL padding, or a record cut short: cleared for new ones
                os.ftruncate(fd, self.size)
            size = max(1, -(-(self.size + room) // CHUNK)) * CHUNK  # whole CHUNKs, one at least
            os.ftruncate(fd, size)
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
            self._map = mmap.mmap(fd, size)
            self._map.seek(self.size)
        finally:
            os.close(fd)
        return self._map


def shown_records(records: list[bytes]) -> tuple[list[tuple[str, str] | Held], int]:
    """The (sender, id) pairs of a log of what was shown, and the lines held and not shown
    since, oldest first; with the count of records that are neither."""
    pairs: list[tuple[str, str] | Held] = []
    held_at: dict[tuple[str, str], int] = {}  # a Held not shown yet: its place in pairs
    damaged = 0
    for record in records:
        try:  # a notice's sender is "": "\tid" is a record; a Held's JSON has no tab
            sender, tab, msg_id = record.decode("utf-8").partition("\t")
            if not tab:
                held = msgspec.json.decode(record, type=Held)
                held_at[held.key] = len(pairs)
                pairs.append(held)
                continue
        except (UnicodeDecodeError, msgspec.DecodeError):
            damaged += 1
            continue
        pair = (_unescape(sender), _unescape(msg_id))
        at = held_at.pop((name_key(pair[0]), pair[1]), None) if held_at else None
        if at is None:
            pairs.append(pair)
        else:  # shown at last: its pair takes its place, its text kept no more
            pairs[at] = pair
    return pairs, damaged


def seen_records(shown: Sequence[tuple[str, str]]) -> bytes:
    records = []
    for sender, msg_id in shown:  # (not a comprehension: pure, a call of its own)
        records.append(f"{sender}\t{msg_id}\n")
    text = "".join(records)
    extra = text.count("\t") + text.count("\n") - 2 * len(shown)  # a sender's or id's own
    if extra or "\\" in text or "\0" in text or "\r" in text:  # rare: see _ESCAPES
        text = "".join([f"{s.translate(_ESCAPE)}\t{i.translate(_ESCAPE)}\n" for s, i in shown])
    return text.encode()


def kept_records(items: Sequence[tuple[str, str] | Held]) -> bytes:
    held = msgspec.json.encode
    return b"".join(held(i) + b"\n" if isinstance(i, Held) else seen_records((i,)) for i in items)


#: A sender or id from the network may hold a tab or newline (cutting its record in two) or
#: a NUL (a record cut short by a kill): those, and the backslash, are escaped.
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\0": "\\0", "\r": "\\r"}
_UNESCAPES = {v[1]: k for k, v in _ESCAPES.items()}
_ESCAPE: Final = str.maketrans(_ESCAPES)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda m: _UNESCAPES.get(m[1], m[1]), value)
