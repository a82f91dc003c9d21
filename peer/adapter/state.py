"""The peer's own kept state, per name under `peers/`: token, messages shown, what it sent
and has not seen delivered, room, registries, key, history, transfers. A rename moves it."""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Collection, Iterable
from pathlib import Path

import msgspec

from disk.files import append_bytes, parse_json, read_bytes, read_text, replace_durably
from peer.adapter.mapped_log import MappedLog, kept_records, seen_records, shown_records
from peer.adapter.mapped_log import why_unreadable as _why
from peer.core.actions import Addr, Held, KeepRegistries, Record, Shown
from wire.codec import decode, encode
from wire.errors import DecodeError
from wire.messages import Chat, Message, SaveMessage, address
from wire.names import name_key, name_problem
from wire.words import counted


def token_path(root: Path, name: str) -> Path:
    return root / "peers" / f"{name_key(name)}.json"


class PeerStateFile:
    """What a peer keeps between runs (see the module)."""

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
            data = parse_json(read_text(self.path))
        except FileNotFoundError:
            return ""
        except (OSError, ValueError, RecursionError) as exc:
            return self._token_problem(_why(exc))
        if self._renamed_to(data):
            return ""  # a name given up by a rename: no longer ours
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            return self._token_problem("it holds no token")
        return token

    def _token_problem(self, why: str) -> str:
        self.problems.append(
            f"Could not read your token file {self.path} ({why}); starting without it."
        )
        return ""

    def renamed_to(self) -> str:
        return self._renamed_to(self._read())

    def _read(self) -> object:
        try:
            return parse_json(read_text(self.path))
        except (OSError, ValueError, RecursionError):
            return None

    @staticmethod
    def _renamed_to(data: object) -> str:
        if not isinstance(data, dict) or "token" in data:
            return ""
        new = data.get("renamed_to")
        return new if isinstance(new, str) and new else ""

    def save_renamed(self, new_name: str) -> None:
        """In place of the token: the name was given up by a rename to `new_name`."""
        _replace(self.path, json.dumps({"renamed_to": new_name}).encode())

    def save_token(self, token: str, name: str = "") -> None:
        """Keep `token`; with `name`, its spelling as the registry has it."""
        kept = {"token": token, "name": name} if name else {"token": token}
        _replace(self.path, json.dumps(kept).encode())

    def spelling(self) -> str:
        data = self._read()
        name = data.get("name") if isinstance(data, dict) and "token" in data else None
        return name if isinstance(name, str) else ""

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
        try:
            self.save_renamed(name)
        except OSError:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _kept(self, kind: str) -> Path:
        return self.path.with_suffix(f".{kind}")

    def close(self) -> None:
        self.seen.close()
        self.sending.close()

    def load_outbox(self, token: str) -> list[Message]:
        """What an earlier run sent and did not see delivered (and an earlier version's
        outbox), in the order typed, direct messages as saves with `token`; the log is
        rewritten with them. Raises OSError when the log cannot be read (nothing changed)."""
        sent, unreadable = self.sent_earlier()
        taken = self._earlier_outbox()
        earlier = taken or []
        # what the log lacks of that outbox was kept by a run before the log's, which holds
        # the rest in the order typed
        logged, held = {m.id for m in sent}, {m.id: m for m in earlier}
        messages: list[Message] = [
            SaveMessage(m.id, m.sender, token, m.to, m.text, after=m.after)
            if isinstance(m, Chat)
            else m
            for m in [m for m in earlier if m.id not in logged] + [held.get(m.id, m) for m in sent]
        ]
        try:
            if unreadable:
                aside = _set_aside(self.sending_path, unreadable)
                some = counted(len(unreadable), "record")
                self.problems.append(f"{some} of what your last session sent {_UNREAD}{aside}.")
            if sent or unreadable or earlier:
                self.sending.replace(_sending_records(messages))
            if taken is not None:
                self._kept("outbox").unlink(missing_ok=True)
        except OSError as exc:
            self.problems.append(
                f"Could not rewrite {self.sending_path} ({_why(exc)}); what your last session "
                "sent is sent in this session, and kept there meanwhile."
            )
            if taken:  # (it goes once the log holds it)
                self.problems.append(f"Your outbox waits for it: {_NOT_SENT}")
                return [m for m in messages if m.id in logged]
        return messages

    def load_seen(self) -> list[tuple[str, str] | Held]:
        """The (sender, id) pairs shown in earlier runs, and the lines held and not shown since,
        oldest first (what cannot be read is said in `problems`)."""
        try:
            pairs, damaged = shown_records(self.seen.read())
        except OSError as exc:
            self.problems.append(
                f"Could not read {self.seen_path} ({_why(exc)}): a message shown before this "
                "start may be shown again."
            )
            return []
        pairs = pairs[-KEEP_SEEN:]
        self._seen_lines = len(pairs)
        if damaged:  # lines ChatApp does not write: said once, the file written without them
            some = "1 line" if damaged == 1 else f"{damaged} lines"
            try:
                self.seen.replace(kept_records(pairs))
            except OSError as exc:
                done = f"they stay there ({_why(exc)})"
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
            log.replace(_sending_records(unsettled))
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

    def sent_earlier(self) -> tuple[list[Message], list[bytes]]:
        """The messages an earlier run left unsettled in `sending`, and the records that are
        none."""
        found: dict[str, tuple[Message | None, bytes]] = {}  # by id, those no `-<id>` settles
        for number, line in enumerate(self.sending.read()):
            if line.startswith(b"-"):
                found.pop(line[1:].decode(errors="replace"), None)
                continue
            try:
                message = decode(line[1:]) if line.startswith(b"+") else None
            except DecodeError:
                message = None
            # a record that is not a message is reported: no id has a space, none settles it
            found[message.id if message else f" {number}"] = (message, line + b"\n")
        kept = found.values()
        return [m for m, _ in kept if m], [record for m, record in kept if m is None]

    def _earlier_outbox(self) -> list[Message] | None:
        """What an earlier version's outbox file holds; None when there is none, or it
        stays (unreadable, said). One with unreadable lines is set aside whole."""
        path = self._kept("outbox")
        try:
            lines = [line for line in read_bytes(path).splitlines() if line.strip()]
            messages = []
            for line in lines:
                with contextlib.suppress(DecodeError):
                    messages.append(decode(line))
            if len(messages) < len(lines):
                aside = _set_aside(path, [line + b"\n" for line in lines])
                some = counted(len(lines) - len(messages), "line")
                self.problems.append(f"{some} of your outbox {_UNREAD}{aside}.")
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problems.append(f"Could not use your outbox {path} ({_why(exc)}); {_NOT_SENT}")
            return None
        return messages

    def load_room(self) -> str:
        try:
            room = read_text(self.room_path).strip()
            if name_problem(room):
                raise ValueError(room)
        except FileNotFoundError:
            return ""
        except (OSError, ValueError) as exc:
            self.problems.append(
                f"Could not read {self.room_path} ({_why(exc)}); starting in no room."
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

    def save_registries(self, kept: KeepRegistries) -> None:
        lines = [kept.key.hex(), *(f"{ip}:{port}" for ip, port in kept.registries)]
        _replace(self.registries_path, "\n".join(lines).encode() if kept.registries else b"")

    def save_room(self, room: str) -> None:
        _replace(self.room_path, room.encode())

    def load_tickets(self) -> dict[str, str]:
        """The mailbox tickets others handed us; a damaged file is passed over."""
        try:
            held = parse_json(read_text(self.tickets_path))
        except (OSError, ValueError, RecursionError):
            return {}
        ok = isinstance(held, dict) and all(type(v) is str for v in held.values())
        return held if ok else {}

    def save_tickets(self, held: dict[str, str]) -> None:
        _replace(self.tickets_path, json.dumps(held).encode())


#: Shown message ids kept between runs; older ones are forgotten when the file is compacted.
KEEP_SEEN = 20_000
#: Compacted past this size too (a line held is written with its text), then as it doubles.
SEEN_BYTES = 8 * 1024 * 1024


#: Bytes of records after which `sending` is rewritten with only the open ones (it is
#: otherwise cleared whenever none is open, nearly always).
COMPACT_AT = 1024 * 1024


def _sending_records(messages: Iterable[Message]) -> bytes:
    return b"".join([b"+" + encode(m) + b"\n" for m in messages])


def _settled(ids: list[str]) -> bytes:  # the records of the messages `ids`, settled
    return ("-" + "\n-".join(ids) + "\n").encode()


#: The files set aside, and an outbox kept apart by earlier versions: moved by a rename.
_APART = ("sending.unreadable", "outbox", "outbox.unreadable")
#: The files a rename moves to the new name's, by kind (the transfers' folder apart).
_MOVED = ("seen", "room", "registries", "sending", "key", "history", "tickets", *_APART)
#: Said of what a kept file holds that cannot be read, then where it was set aside.
_UNREAD = (
    "could not be read (damaged, or from another version of ChatApp) and did not go out; kept in "
)
_NOT_SENT = "what it holds was not sent (it stays there)."


def _set_aside(path: Path, records: list[bytes]) -> Path:
    """Append `records` to `path` + `.unreadable`, durably, and return that."""
    aside = path.with_name(path.name + ".unreadable")
    append_bytes(aside, b"".join(records), fsync=True)
    return aside


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
