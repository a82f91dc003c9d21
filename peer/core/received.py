"""What is received and believed, dispatched by type to the part it concerns. Sans-IO."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peer.core.actions import Addr, Emit, Print
from peer.core.direct import DirectChats
from peer.core.leaving import Leaving
from peer.core.registration import Registering
from peer.core.registry_link import RegistryLink
from peer.core.request_ends import RequestEnds
from peer.core.room_membership import Membership
from peer.core.shared import Shared
from peer.core.table import Rule
from peer.core.table_news import TableNews
from peer.core.typed_commands import Commands
from wire.messages import (
    FILE_DATAGRAMS,
    Ack,
    Acks,
    Alive,
    Busy,
    ChannelMessage,
    Chat,
    Message,
    MoreMail,
    Notice,
    Refused,
    Relayed,
    Restarted,
    RoomList,
    RoomMessage,
    RoomNotice,
    Saved,
    TableSnapshot,
    TableUpdate,
    TooBig,
    Welcome,
)

#: A handler of a message received: the message, where it came from, `now`, the actions.
_Handler = Callable[[Any, Addr, float, Emit], object]


@dataclass(frozen=True, eq=False)
class Parts:
    """Every part of one peer core, and the state they share, gathered for the two that
    dispatch to the others: Received and TypedInput (peer.core.dispatch). Built by PeerCore."""

    shared: Shared
    link: RegistryLink
    direct: DirectChats
    membership: Membership
    table_news: TableNews
    registration: Registering
    leaving: Leaving
    ends: RequestEnds
    commands: Commands


class Received:
    """The dispatch of what is received (no state of its own but its tables)."""

    def __init__(self, parts: Parts) -> None:
        self._parts = parts
        self._shared = parts.shared
        self._direct = parts.direct
        self._inbox = parts.shared.inbox
        answer = self.route_reply
        #: The handler of each type the registry's key may send (read-only; the first of a
        #: datagram goes through `receive` when more than a handler's work is due: see there).
        self.from_registry: dict[type, _Handler] = {
            Chat: parts.direct.delivered,
            **dict.fromkeys((Ack, Refused, Welcome, Alive, TooBig, RoomList, MoreMail), answer),
            Busy: lambda m, addr, now, emit: parts.ends.busy(m, now, emit),
            Acks: self._each_ack,
            TableSnapshot: self._snapshot,
            ChannelMessage: self._channel_message,
            TableUpdate: self._table_update,
            Saved: self._saved,
            Relayed: lambda m, addr, now, emit: parts.ends.relay_outcome(m.reply_to, now, emit),
            Restarted: self._restarted,
            Notice: self._notice,
            RoomMessage: parts.membership.message,
            RoomNotice: self._room_notice,
        }
        #: The handler of each type a peer's key may send: its chats, and acks (read-only).
        self.from_peers: dict[type, _Handler] = {
            Chat: parts.direct.incoming,
            Ack: parts.direct.acked,
            Refused: self._peer_refused,
            Acks: parts.direct.acked,
        }
        parts.shared.trust.rules = {
            **dict.fromkeys(self.from_registry, Rule.REGISTRY),  # the registry's own
            **dict.fromkeys((Chat, *FILE_DATAGRAMS), Rule.SENDER),
            **dict.fromkeys((Ack, Acks, Refused), Rule.OWED),
        }

    def receive(self, message: Message, at: Any, first: bool, now: float, emit: Emit) -> None:
        """The registry's `message` from `at` (an Addr; hot path: Any, kept boxed) to its
        handler: Restarted from another registry of the service whose
        list leaves ours out moves us to it (ours stopped); anything else from one is only
        late, and says nothing of ours. The `first` of a datagram says ours is heard from.
        (PeerCore.receive_all hands a message of ours straight to its handler, and notes
        ours heard from itself, unless it was down or others were tried.)"""
        addr: Addr = at
        shared = self._shared
        server = shared.requests.server
        if addr != server and isinstance(message, Restarted):
            shared.learn_registries(message.registries, emit)  # (first: it names its sender)
            if addr in shared.registries and server not in shared.registries:
                self._parts.link.moved(addr, emit)
        elif addr != server and shared.requests.down and addr in shared.registries:
            self._parts.link.moved(addr, emit)  # its news missed (asleep): the service is here
        late = addr != shared.requests.server and bool(shared.registries)  # (moved: ours)
        back = False
        if first and not late:  # ours is heard from at `now`: back, if it was away
            requests = shared.requests
            requests.heard_at, back = now, requests.down
            shared.tried.clear()  # it answers: a later silence may try the others again
            if back:  # said, and the outbox goes
                requests.down = requests.rooms_down_said = False
                emit(Print("[Server is back.]", "system"))
                self._parts.link.flush_outbox(now, emit, back=True)
        handler = self.from_registry.get(type(message))
        if handler is not None:
            handler(message, at, now, emit)
        if back:
            # what is still in flight went into the silence: sent again, not said unanswered
            shared.requests.send_again(now, emit)

    def route_reply(self, reply: Message, addr: Addr, now: float, emit: Emit) -> None:
        """The registry's answer to a request of ours: a direct message's, or its own."""
        reply_to: str = getattr(reply, "reply_to", "")
        self._shared.settling.maybe(reply_to)
        if not self._direct.chat_answered(reply, addr, now, emit):
            self._parts.ends.match_reply(reply, reply_to, now, emit)

    def _peer_refused(self, reply: Refused, addr: Addr, now: float, emit: Emit) -> None:
        """A peer of another version could not read a direct message of ours."""
        self._shared.settling.maybe(reply.reply_to)
        self._direct.chat_answered(reply, addr, now, emit)

    def _each_ack(self, acks: Acks, addr: Addr, now: float, emit: Emit) -> None:
        for reply_to in acks.replies:  # (each a call of ours: no bound method called per ack)
            self.route_reply(Ack(acks.id, reply_to), addr, now, emit)

    def _snapshot(self, snapshot: TableSnapshot, addr: Addr, now: float, emit: Emit) -> None:
        self.route_reply(snapshot, addr, now, emit)
        self._parts.table_news.snapshot(snapshot, now, emit)

    def _channel_message(self, message: ChannelMessage, addr: Addr, now: float, emit: Emit) -> None:
        if (key := self._inbox.accept(sender := message.sender, message.id)) is not None:
            line = Print(f"[Channel_Message {sender}: {message.text}]", "channel", sender)
            self._inbox.show(message, key, line, now, emit)

    def _table_update(self, update: TableUpdate, addr: Addr, now: float, emit: Emit) -> None:
        self._inbox.owe(update.id)
        if self._shared.life.registered:
            self._parts.table_news.update(update, now, emit)
        else:  # our Welcome is still on its way: kept for it
            self._shared.table.hold(update)

    def _saved(self, saved: Saved, addr: Addr, now: float, emit: Emit) -> None:
        self._inbox.owe(saved.id)
        self._parts.ends.save_outcome(saved, now, emit)

    def _restarted(self, restarted: Restarted, addr: Addr, now: float, emit: Emit) -> None:
        # acked; a copy (the ack lost) sends nothing the registry lacks
        self._inbox.owe(restarted.id)
        if self._shared.life.registered:  # the outbox goes, and what awaits its outcome
            self._parts.link.flush_outbox(now, emit, back=True)

    def _notice(self, notice: Notice, addr: Addr, now: float, emit: Emit) -> None:
        shared = self._shared
        if not shared.life.registered or not self._inbox.accept("", notice.id, kept=False):
            return
        if notice.quitter:
            shared.change_lines.someone_quit(notice, now, emit)
        else:
            emit(Print(f"[{notice.text}]", "system"))

    def _room_notice(self, notice: RoomNotice, addr: Addr, now: float, emit: Emit) -> None:
        if self._parts.membership.notice(notice, emit):
            self._parts.ends.joined_by_notice(notice.room, now, emit)
