"""Rename: the new name's checks; the mailbox and the old name follow the record."""

from __future__ import annotations

from registry.core.actions import Emit, Log
from registry.core.authority import Claim
from registry.core.requests import Request
from registry.core.services import Mail, Services
from registry.core.table import Record
from wire.messages import Entry, Rename
from wire.names import name_key, name_problem


class Renames:
    def __init__(self, services: Services, post: Mail) -> None:
        self._s = services
        self._post = post

    def rename(self, msg: Rename, req: Request, now: float, emit: Emit) -> None:
        """The sender takes the name `msg.new_name`, if it is free and allowed."""
        claim = Claim(msg.name, msg.token, "rename", fresh=True)
        record = self._s.names.member(req, claim, emit)
        if record is None or self._s.answers.done_before(req, emit):
            return
        if record.name == msg.new_name:  # no change
            self._s.answers.ack(req, emit)
            return
        reason = self._refusal(record, msg.new_name, now)
        if reason:
            said = (reason, "rename refused")
            self._s.answers.refuse(req, said, f"rename of {record.name}", emit)
            return
        old = record.name
        self._rekey(record, msg.new_name, now, emit)
        gone = Entry(old, record.ip, 0, False)
        # every peer is told by the table's change; the room adds no notice of its own
        self._s.feed.changed(record, now, emit, rows=(gone, record.entry()))
        emit(Log(f"renamed {old} to {record.name}"))
        self._s.answers.done(req, emit)

    def _refusal(self, record: Record, new_name: str, now: float) -> str:
        """Why `record` may not be renamed `new_name` ("": it may)."""
        problem = name_problem(new_name)
        if problem:
            return f"Cannot rename to {new_name!r}: {problem}."
        taken = self._s.table.get(new_name)
        if taken is not None and taken is not record:
            return f"The name {taken.name} is taken."
        if taken is None:
            return self._s.names.reserved(new_name, record, now)
        return ""

    def _rekey(self, record: Record, new_name: str, now: float, emit: Emit) -> None:
        """File `record` under `new_name`, the old key left an alias, the mailbox moved."""
        table = self._s.table
        old_key, new_key = name_key(record.name), name_key(new_name)
        del table.records[old_key]
        record.name = new_name
        table.records[new_key] = record
        if old_key != new_key:
            self._s.names.renamed(old_key, new_key, now)
            self._post.moved(old_key, record, emit)
