"""The formats of the registry's files (store.FileStore): table.json's text, a mailbox's
lines, a room's lines; and the error a backend raises."""

from __future__ import annotations

import json
from typing import Any

from msgspec.structs import astuple

from registry.core.table import Table, row_json
from wire.codec import DecodeError, decode
from wire.limits import MAX_AFTER
from wire.messages import RoomMessage, StoredMessage
from wire.names import name_problem

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
    if not isinstance(data, dict):
        raise ValueError("not a stored message")
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
