"""Direct messages (docs/PROTOCOL.md, "Direct messages"): retried until acked, handed to
the registry when unanswered. Sans-IO."""

from __future__ import annotations

from typing import Final

import msgspec

from peer.core.actions import Addr, Emit, PinKey, Print, SendSealed
from peer.core.registry_link import RegistryLink
from peer.core.shared import Shared, text_ok
from peer.core.table import Owed
from wire.keys import key_from_text, key_text
from wire.limits import MAX_TEXT
from wire.messages import NO_REASON, Ack, Acks, Chat, Entry, Message, Refused, SaveMessage
from wire.names import name_key, valid_name
from wire.reliable import Retransmitter

RECEIVED_BY: Final = "[Message received by {}.]"
NO_ACK: Final = "[No ACK from {}, message sent to server.]"


class DirectChats:
    """The direct messages sent and not yet acked or given up, and the renames and away marks
    said on a send."""

    def __init__(self, shared: Shared, link: RegistryLink, timeout: float, attempts: int) -> None:
        """`timeout` and `attempts`: the retry rule of a direct message (wire.reliable)."""
        self._shared = shared
        self._inbox = shared.inbox
        self._link = link
        # each chat sent, with the key it went to, until answered or given up
        self._chats: Retransmitter[Owed] = Retransmitter(timeout, attempts, shared.alarm)
        shared.trust.owed = self._chats.waiting  # whose answers are believed from whom
        self._told_renamed: set[tuple[str, str]] = set()  # (old, new) keys said on a send
        self._told_away: dict[str, str] = {}  # the away text said on a send, by name key
        self._receipt = ("", Print(""))  # the last receipt and for whom: nearly always the next
        self._to: tuple[Entry | None, Addr, bytes] = (None, ("", 0), b"")  # the last row sent to
        self._typed_at: dict[str, float] = {}  # when each chat waiting for its ack was typed

    def send(self, to: str, text: str, now: float, emit: Emit) -> None:
        """The user sends `text` to `to`: directly when the table has them online, else to
        the registry, which saves it for them; not at all when too long (said)."""
        # at most 4 bytes a character: a text this short fits without being encoded
        if len(text) > MAX_TEXT // 4 and not text_ok(text, emit):
            return
        shared = self._shared
        entry = shared.table.entry(to)
        if entry is None:
            emit(shared.no_user(to))
            return
        if (name := entry.name) != to:  # said once a rename, not per message
            renamed = (name_key(to), name_key(name))
            if renamed[0] != renamed[1] and renamed not in self._told_renamed:
                self._told_renamed.add(renamed)
                emit(Print(f"[{to} is now known as {name}]", "system"))
        # kept first: a save held in the outbox takes its place
        chat = shared.settling.keep_chat(msg_id := shared.new_id(), shared.state.name, name, text)
        if entry.online:
            if entry.away and self._told_away.get(key := name_key(name)) != entry.away:
                self._told_away[key] = entry.away  # said once until it changes, as IRC's
                why = "." if entry.away == NO_REASON else f": {entry.away}"
                emit(Print(f"[{name} is away{why}]", "system"))
            tickets = shared.tickets
            if tickets.secret and entry.key not in tickets.handed:  # (until one is acked)
                chat = msgspec.structs.replace(chat, ticket=tickets.to_hand(entry.key))
            self._typed_at[msg_id] = now
            self._chats.start(msg_id, self._send_chat(chat, emit, entry), now)
        else:
            self._link.request(shared.save_of(chat, now), now, emit)

    def _send_chat(self, chat: Chat, emit: Emit, entry: Entry | None, key: bytes = b"") -> Owed:
        """Send `chat` to `entry`, whose key alone may answer it (pinned once a run): `chat`
        with that key (no entry: `key`)."""
        if entry is not None:
            if entry is not self._to[0]:  # (a row is replaced when it changes)
                self._to = (entry, (entry.ip, entry.port), key_from_text(entry.key) or b"")
            _, addr, key = self._to
            emit(SendSealed(addr, chat, key))
            if key and self._shared.trust.talked.get(chat.to) != key:
                emit(PinKey(chat.to, key))
        return chat, key

    def _to_registry(self, chat: Chat, line: str, now: float, emit: Emit) -> None:
        """Show `line`, why `chat` did not reach its recipient, and save it at the registry."""
        emit(Print(line, "system"))
        self._link.request(self.save_of(chat), now, emit)
        self._typed_at.pop(chat.id, None)

    def save_of(self, chat: Chat) -> SaveMessage:
        """`chat` as its save (Shared.save_of), with when it was typed if it waits here."""
        return self._shared.save_of(chat, self._typed_at.get(chat.id))

    def chat_answered(self, reply: Message, addr: Addr, now: float, emit: Emit) -> bool:
        """`reply` (an Ack or a Refused) came from `addr`: True when it answers a direct
        message of ours waiting for its ack, which is then done with."""
        if type(reply) is Ack:
            return self.acked(reply, addr, now, emit)
        if isinstance(reply, Refused):
            # A peer refuses a direct message only when it cannot read it (another version
            # of ChatApp: see wire.messages.VERSION_REFUSAL). Retrying cannot help; the
            # registry's mailbox may (it hands over stored messages in another form).
            if (owed := self._chats.answer(reply.reply_to)) is None:
                return False
            chat, why = owed[0], "runs another version of ChatApp and could not read your message"
            self._to_registry(chat, f"[{chat.to} {why}; message sent to server.]", now, emit)
            return True
        return False

    def acked(self, acks: Ack | Acks, addr: Addr, now: float, emit: Emit) -> bool:
        """`acks` (one, or a datagram's) came for direct messages of ours: each that waited
        for its ack is then done with and settled; True when one did."""
        answered = False
        for msg_id in (acks.reply_to,) if isinstance(acks, Ack) else acks.replies:
            if (owed := self._chats.answer(msg_id)) is not None:
                self._typed_at.pop(msg_id, None)
                if owed[0].ticket:
                    self._shared.tickets.acked(key_text(owed[1]), owed[0].ticket)
                if self._receipt[0] != (to := owed[0].to):
                    self._receipt = (to, Print(RECEIVED_BY.format(to), "system"))
                emit(self._receipt[1])
                self._shared.settling.settled(msg_id)  # (the chat's id: its key here)
                answered = True
        return answered

    def tick(self, now: float, emit: Emit) -> None:
        """Send again what is due at `now`; hand what is given up on to the registry."""
        (again, failed), shared = self._chats.due(now), self._shared
        for chat, key in again:
            owed = self._send_chat(chat, emit, shared.table.entry(chat.to), key)
            self._chats.waiting[chat.id].item = owed  # (the key it is owed by now)
            # not answered at once, as nearly every message is: worth a write to disk
            shared.settling.keep_durably(self.save_of(chat))
        for chat, _ in failed:
            self._to_registry(chat, NO_ACK.format(chat.to), now, emit)

    def delivered(self, chat: Chat, addr: Addr, now: float, emit: Emit) -> None:
        """A direct message the registry delivers: as `incoming`; but one that is not for
        us is refused, so that the registry keeps it in its recipient's mailbox rather
        than push it again for as long as we answer."""
        if self._for_us(chat.to):
            self.incoming(chat, addr, now, emit)
        else:
            why = f"{chat.to} is not a name of this peer's"
            refused = Refused(self._shared.new_id(), chat.id, why)
            emit(SendSealed(addr, refused, self._shared.trust.registry))

    def _for_us(self, to: str) -> bool:
        """Whether a message to `to` is ours: our name, one we had before a rename, or one
        the table leads to our row (a rename of ours whose answer we have not had yet)."""
        state, table = self._shared.state, self._shared.table
        if to == state.name:
            return True
        key = name_key(to)
        if key == name_key(state.name) or key in state.former:
            return True
        row = table.entry(to)
        return row is not None and row is table.entry(state.name)

    def incoming(self, chat: Chat, addr: Addr, now: float, emit: Emit) -> None:
        """A direct message came from `addr`: shown once, and acked, when it may be
        believed and is for us (or for a name we had before a rename)."""
        if chat.to != self._shared.state.name and not self._for_us(chat.to):  # (nearly never)
            return  # meant for whoever had this address before; the sender falls back
        # Who sent it was settled by its key (peer.core.table), wherever it came from: a
        # sender's address in our table may be older than the one it sends from now.
        sender, text = chat.sender, chat.text
        if not valid_name(sender) or (len(text) > MAX_TEXT // 4 and len(text.encode()) > MAX_TEXT):
            return  # no peer of ours sends such a thing: a name that is none, or a flood
        if (key := self._inbox.accept(sender, chat.id)) is not None:
            if chat.ticket and not chat.saved_by and (entry := self._shared.table.entry(sender)):
                self._shared.tickets.keep_handed(entry.key, chat.ticket, emit)  # (its key: Trust's)
            self._inbox.show(chat, key, Print(f"{sender}: {text}", "message", sender), now, emit)

    def awaiting_ack(self, msg_id: str) -> bool:
        return msg_id in self._chats.waiting

    def next_wake(self) -> float | None:
        return self._chats.next_wake()
