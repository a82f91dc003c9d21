"""Keepalive, Deregister, SetAway and Rename: what a peer says of its own table row; a peer
gone, replaced at its address, or started afresh. An away mark lasts until the peer says it
is back or goes offline; a rename takes the mailbox along, and leaves the old name an alias."""

from __future__ import annotations

from registry.core.actions import Addr, Emit, Log
from registry.core.requests import Request
from registry.core.services import KeepPushed, LeaveRoom, Mail, Services
from registry.core.table import Record
from wire.limits import MAX_FAREWELL
from wire.messages import (
    NO_REASON,
    Alive,
    Deregister,
    Entry,
    Keepalive,
    Notice,
    Refused,
    Rename,
    SetAway,
)
from wire.names import name_key, name_problem


class Presence:
    def __init__(
        self, services: Services, leave_room: LeaveRoom, keep_pushed: KeepPushed, post: Mail
    ) -> None:
        self._s, self._leave_room, self._keep_pushed = services, leave_room, keep_pushed
        self._post = post

    def keepalive(
        self, msg: Keepalive, req: Request, record: Record, now: float, emit: Emit
    ) -> None:
        if not record.online:
            self._s.answers.reply(req, emit, Refused, "You are not registered.")
            return
        record.last_seen = now
        self._s.watch.heard(req.addr, msg.version, now, emit)  # (what it missed goes first)
        version = self._s.watch.told(req.addr, self._s.table.version)
        self._s.answers.reply(req, emit, Alive, version, self._s.registries)

    def deregister(
        self, msg: Deregister, req: Request, record: Record, now: float, emit: Emit
    ) -> None:
        """The peer goes offline (dereg) or quits (everyone is told, with its farewell)."""
        if record.online:
            record.last_seen = now
            self._offline(record)
            record.deregistered = True
            if msg.quitting:  # said first: peers then say nothing more of the row's change
                line, cut = f"{record.name} has quit", msg.farewell[:MAX_FAREWELL]
                if cut:
                    line += f" ({cut}{'…' if cut != msg.farewell else ''})"
                for other in self._s.table.online():
                    notice = Notice(self._s.answers.new_id(), line, record.name)
                    self._s.pushes.push((other,), notice, "notice", now, emit)
            self._s.feed.changed(record, now, emit)
            emit(Log(f"deregistered {record.name}"))
            self._leave_room(record, now, emit, None if msg.quitting else "")
        self._s.answers.ack(req, emit)

    def set_away(self, msg: SetAway, req: Request, record: Record, now: float, emit: Emit) -> None:
        text = " ".join(msg.text.split())
        if len(text) > MAX_FAREWELL:
            reason = f"Say why you are away in {MAX_FAREWELL} characters at most."
            self._s.answers.refuse(req, reason, f"away from {record.name}", emit)
            return
        if record.away != text:
            record.away = text
            self._s.feed.changed(record, now, emit)
            why = "" if text == NO_REASON else f": {text}"
            emit(Log(f"{record.name} is away{why}" if text else f"{record.name} is back"))
        self._s.answers.done(req, emit)

    def silent(self, record: Record, now: float, emit: Emit) -> None:
        silent = f"{record.name} silent for {now - record.last_seen:.0f} s"
        self._gone(record, f"{silent}; offline (it did not answer a probe)", now, emit)

    def take_over(self, where: Addr, record: Record, now: float, emit: Emit) -> None:
        """`record` comes online at `where`: another name online there goes offline."""
        for other in self._s.feed.online_at(where):
            if other is not record:
                other.last_seen = now
                line = f"{other.name} offline: {record.name} registered at its address"
                self._gone(other, line, now, emit)

    def _gone(self, record: Record, line: str, now: float, emit: Emit) -> None:
        self._offline(record)
        self._s.feed.changed(record, now, emit)
        emit(Log(line))
        self._leave_room(record, now, emit, "not answering")
        self._keep_pushed(record, now, emit)

    def _offline(self, record: Record) -> None:
        record.online, record.away = False, ""
        record.used = self._s.wall(record.last_seen)

    def fresh_start(self, record: Record, now: float, emit: Emit) -> None:
        self._leave_room(record, now, emit, "restarted")
        self._keep_pushed(record, now, emit)

    def rename(self, msg: Rename, req: Request, record: Record, now: float, emit: Emit) -> None:
        if record.name == msg.new_name:  # no change
            self._s.answers.ack(req, emit)
            return
        if reason := self._refusal(record, msg.new_name, now):
            said = (reason, "rename refused")
            self._s.answers.refuse(req, said, f"rename of {record.name}", emit)
            return
        old, old_key, new_key = record.name, name_key(record.name), name_key(msg.new_name)
        del self._s.table.records[old_key]
        record.name = msg.new_name
        self._s.table.records[new_key] = record
        if old_key != new_key:
            self._s.names.renamed(old_key, new_key, now)
            self._post.moved(old_key, record, emit)
        gone = Entry(old, record.ip, 0, False)
        # every peer is told by the table's change; the room adds no notice of its own
        self._s.feed.changed(record, now, emit, rows=(gone, record.entry()))
        emit(Log(f"renamed {old} to {record.name}"))
        self._s.answers.done(req, emit)

    def _refusal(self, record: Record, new_name: str, now: float) -> str:
        if problem := name_problem(new_name):
            return f"Cannot rename to {new_name!r}: {problem}."
        taken = self._s.table.get(new_name)
        if taken is None:
            return self._s.names.reserved(new_name, record, now)
        return "" if taken is record else f"The name {taken.name} is taken."
