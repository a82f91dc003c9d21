"""The request, and how every part of the registry core answers it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from msgspec import Struct

from registry.core.actions import Addr, Emit, Log, Send, SendMany
from registry.core.table import Record
from wire.keys import key_from_text
from wire.messages import Ack, Message, Refused
from wire.refusals import RefusalCode

#: Request ids done remembered, to answer late copies without carrying them out again.
RECENT_IDS = 10_000

V = TypeVar("V")


#: Who sent a stored message: its sender's key and IP address ("": none, the registry's own).
Origin = tuple[str, str]
NO_ORIGIN: Origin = ("", "")


class Request(Struct, frozen=True):
    """A message the registry answers: its `id`, the address it came from, and the `key`
    it came with, which proves who sent it (`datagram`, `behind`: as in Arrival)."""

    id: str
    addr: Addr
    key: str = ""
    datagram: bool = False
    behind: float = 0.0

    @property
    def asker(self) -> bytes:
        """The key an answer is for (b"": none, and nothing is sent)."""
        return (key_from_text(self.key) or b"") if self.key else b""

    @property
    def origin(self) -> Origin:
        return (self.key, self.addr[0])


#: A refusal's text holding text of its request, and the kind the log counts.
Reason = tuple[str, str]


class Answers:
    """The registry's message ids (`new_id`), and its answers to requests; the ids of room
    requests, renames and away marks carried out lately, whose late copies are only acked."""

    def __init__(self, new_id: Callable[[], str]) -> None:
        self.new_id = new_id
        self._done = Recent[None]()

    def refuse(
        self,
        req: Request,
        reason: str | Reason,
        what: str,
        emit: Emit,
        code: RefusalCode = RefusalCode.OTHER,
    ) -> None:
        """Refuse `req`: `reason` for its user (a constant `str` is its own kind), `code`
        for its program; `what` names the request in the rate-limited log."""
        text, kind = (reason, reason) if isinstance(reason, str) else reason
        emit(Log(f"refused {what}: {text}", kind))
        self.reply(req, emit, Refused, text, code)

    def ack(self, req: Request, emit: Emit) -> None:
        self.reply(req, emit, Ack)

    def reply(self, req: Request, emit: Emit, kind: Callable[..., Message], *fields: Any) -> None:
        emit(Send(req.addr, kind(self.new_id(), req.id, *fields), req.asker))

    def done_before(self, req: Request, emit: Emit) -> bool:
        """Whether `req` was carried out already; if so, it is acked again."""
        if done := req.id in self._done:
            self.ack(req, emit)
        return done

    def done(self, req: Request, emit: Emit) -> None:
        """`req` is carried out: acked, as its copies are."""
        remember(self._done, req.id, None)
        self.ack(req, emit)


#: Requests done lately, by id, each with what its late copies are answered (`remember`).
Recent = OrderedDict[str, V]


def remember(recent: Recent[V], req_id: str, value: V) -> None:
    """Keep `value` for `req_id` in `recent`: past RECENT_IDS, the oldest is forgotten."""
    recent[req_id] = value
    if len(recent) > RECENT_IDS:
        recent.popitem(last=False)


def send_to(
    addrs: Sequence[Addr], message: Message, key_at: Callable[[Addr], bytes]
) -> Send | SendMany:
    if len(addrs) == 1:
        return Send(addrs[0], message, key_at(addrs[0]))
    return SendMany(tuple(addrs), message, tuple(map(key_at, addrs)))


def public_key(record: Record) -> bytes:
    return key_from_text(record.key) or b""


def session_of(msg_id: str) -> str:
    """The session of a message id `<session>-<counter>` ("": none)."""
    return msg_id.rpartition("-")[0]


def another_start(register_id: str, last_register_id: str) -> bool:
    """Whether `register_id` comes from another start than `last_register_id` did."""
    session = session_of(register_id)
    if session and session_of(last_register_id):
        return session != session_of(last_register_id)
    return register_id != last_register_id


def fmt(addr: Addr) -> str:
    return f"{addr[0]}:{addr[1]}"
