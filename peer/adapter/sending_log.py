"""What a peer has sent and not yet seen delivered, kept so that a peer killed before it
knows sends it on at its next start: a direct message before its first retry puts it in
the outbox on disk, or a message for the registry before the registry answers."""

from __future__ import annotations

from pathlib import Path

from peer.adapter.mapped_log import MappedLog
from wire.codec import decode
from wire.errors import DecodeError
from wire.messages import Chat, Message, SaveMessage

#: Bytes of records after which the log is rewritten with only the open ones (it is
#: otherwise cleared whenever none is open, nearly always).
COMPACT_AT = 1024 * 1024


class SendingLog:
    """Messages sent and not yet settled, in a `MappedLog`: `+<message as sent>` when one
    is sent, `-<id>` when it is settled. Writing costs no system call, so every message
    can afford it; a kill keeps what was written, a power cut may not (the outbox, fsynced
    at a direct message's first retry, covers that case from then on)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._log = MappedLog(path)
        self._open: dict[str, bytes] = {}  # id -> its record, oldest first
        self._read = False  # whether `_open` holds what the file held when first used

    def sent(self, msg_id: str, data: bytes) -> None:
        """Keep `data`, the message `msg_id` as encoded for sending, until it is
        `settled`. Raises OSError."""
        if not self._read:
            self._take_in_file()
        record = b"+" + data + b"\n"
        self._log.append(record)
        self._open[msg_id] = record

    def settled(self, msg_id: str) -> None:
        """Message `msg_id` needs no keeping any more (delivered, saved, or refused and
        said so). Raises OSError."""
        if not self._read:
            self._take_in_file()
        if self._open.pop(msg_id, None) is None:
            return
        if not self._open:
            self._log.clear()
        elif self._log.size > COMPACT_AT:
            self._log.replace(b"".join(self._open.values()))
        else:
            self._log.append(b"-" + msg_id.encode() + b"\n")

    def earlier(self) -> tuple[list[Message], list[bytes]]:
        """The messages that were sent and not settled when the log was last written
        (by an earlier run, killed), oldest first, and the records among them that are
        not messages (damage, or another version's), each with its newline. Raises
        OSError."""
        messages: list[Message] = []
        unreadable: list[bytes] = []
        for record in self._open_records().values():
            try:
                messages.append(decode(record[1:-1]))
            except DecodeError:
                unreadable.append(record)
        return messages, unreadable

    def forget(self) -> None:
        """Drop every record, durably (once what an earlier run left is kept elsewhere).
        Raises OSError."""
        self._open = {}
        self._read = True
        if self.path.exists():
            self._log.replace(b"")

    def close(self) -> None:
        """Unmap the file (before it is moved by a rename); the next `sent` reads it again."""
        self._log.close()
        self._read = False

    def _take_in_file(self) -> None:
        """At the first use after opening or a rename: the records the file holds already
        (moved here with it by a rename) are open too, so that their settling is kept."""
        self._open = {**self._open_records(), **self._open}
        self._read = True

    def _open_records(self) -> dict[str, bytes]:
        """The records in the file that no later `-<id>` settles, by id."""
        found: dict[str, bytes] = {}
        for number, line in enumerate(self._log.read()):
            if line.startswith(b"-"):
                found.pop(line[1:].decode(errors="replace"), None)
            else:  # a message, or a record that is not one, which `earlier` reports
                try:
                    key = decode(line[1:]).id if line.startswith(b"+") else f" {number}"
                except DecodeError:
                    key = f" {number}"  # no id has a space: never settled by mistake
                found[key] = line + b"\n"
        return found


def outbox_after_a_kill(
    outbox: list[Message], unsettled: list[Message], token: str
) -> list[Message]:
    """What a peer restarted after a kill has to send: its kept `outbox`, then the
    `unsettled` messages of its sending log that the outbox does not hold already, direct
    messages as the saves they become (with `token`): the registry delivers or stores
    them, and their ids keep a recipient that has one already from showing it again."""
    messages = list(outbox)
    known = {m.id for m in messages}
    for message in unsettled:
        if isinstance(message, Chat):
            message = SaveMessage(message.id, message.sender, token, message.to, message.text)
        if message.id not in known:
            known.add(message.id)
            messages.append(message)
    return messages
