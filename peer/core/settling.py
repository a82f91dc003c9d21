"""What the user sent and is not known delivered, in the order typed: the one record of it,
which the adapter's log follows (the message itself when typed, its id once on its way
nowhere, written after the event). Those held for the registry are its outbox (docs/GUIDE.md,
"When the registry is down"), each logged again, durably, as it is held."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from msgspec.structs import replace

from peer.core.actions import Record, Sending
from wire.messages import ChannelPost, Chat, Leave, Message, RoomPost, SaveMessage
from wire.names import name_key

Typed = TypeVar("Typed", Chat, ChannelPost, RoomPost)


class Settling:
    """The order typed, what is not yet settled, what of it is held for the registry, and
    what the event may have settled."""

    def __init__(self, kept: Iterable[Message] = ()) -> None:
        """`kept`: what an earlier run left unsettled, in its order, typed before anything of
        this run, and held (in the log already: no Sending)."""
        # the order typed, by id, until settled (or answered, for a leave)
        self._typed: dict[str, int] = {}
        self._places = 0  # the last place given in it
        #: What is not settled, by id, in the order typed, as the log keeps it: a direct
        #: message kept durably as its save.
        self.unsettled: dict[str, Message] = {}
        for message in kept:
            self.note_typed(message)
            self.unsettled[message.id] = message
        #: The ids of the unsettled messages held for the registry: its outbox.
        self.held: set[str] = set(self.unsettled)
        #: The records of what is on its way, in order, for the adapter to write and clear
        #: after every event (the same list, for the life of the core).
        self.records: list[Record] = []
        #: The ids an answer of the current event may have settled (`settle` checks them).
        self.maybe_settled: list[str] = []
        self._last = (("", ""), "")  # the audience and id of the message kept last (`keep`)
        self._said = ("", "", ("", ""))  # the names of the direct message kept last, its audience

    def keep(self, message: Typed) -> Typed:
        """Have `message`, just typed, kept until it is settled (see Record), after every one
        typed before it, `after` the last not settled for the same people: what is kept."""
        msg_id = message.id
        if self.unsettled and (after := self._after(msg_id, audience(message))):
            message = replace(message, after=after)
        self._typed[msg_id] = self._places = self._places + 1  # (a new id: typed now)
        self.unsettled[msg_id] = message
        self.records.append(message)
        return message

    def keep_chat(self, msg_id: str, sender: str, to: str, text: str) -> Chat:
        """`keep` of a direct message, made here once, with its `after` (not made again)."""
        said = self._said  # (the same names as the last one's, nearly always: not folded again)
        if said[0] is not sender or said[1] is not to:
            self._said = said = (sender, to, (name_key(sender), name_key(to)))
        after = self._after(msg_id, said[2]) if self.unsettled else ""
        self._typed[msg_id] = self._places = self._places + 1  # (as `keep`: no call more)
        self.unsettled[msg_id] = chat = Chat(msg_id, sender, to, text, after=after)
        self.records.append(chat)
        return chat

    def _after(self, msg_id: str, to: tuple[str, str]) -> str:
        """The last not settled (some are) for the audience `to`, or ""; `msg_id` is from now."""
        last_to, after = self._last
        if last_to != to or after not in self.unsettled:  # (nearly always the one kept last)
            after = next((i for i, m in reversed(self.unsettled.items()) if audience(m) == to), "")
        self._last = (to, msg_id)
        return after

    def keep_durably(self, save: Message) -> None:
        """Have the direct message kept, kept durably too, as `save` (once)."""
        if type(self.unsettled.get(save.id)) is Chat:
            self.unsettled[save.id] = save
            self.records.append(Sending(save))

    def note_typed(self, message: Message) -> None:
        """Note that `message` was typed now, after every message noted before it, without
        keeping it (a leave, a join: they are answered, not delivered)."""
        if message.id not in self._typed:
            self._typed[message.id] = self._places = self._places + 1

    def typed_at(self, message: Message) -> float:
        """Where `message` comes in the order typed (not typed: after all the others)."""
        return self._typed.get(message.id, float("inf"))

    def forget_typed(self, msg_id: str) -> None:
        """Message `msg_id` is answered: its place in the order typed is no longer needed."""
        self._typed.pop(msg_id, None)

    def maybe(self, msg_id: str) -> None:
        """An answer about message `msg_id` came: it may be settled (`settle` checks)."""
        if msg_id in self.unsettled:
            self.maybe_settled.append(msg_id)

    def settled(self, msg_id: str) -> None:
        """Message `msg_id` is on its way nowhere any more (the caller knows): its id
        recorded, unless it is held, settled already or was never typed."""
        if msg_id not in self.held and msg_id in self.unsettled:
            del self.unsettled[msg_id]
            self._typed.pop(msg_id, None)
            self.records.append(msg_id)

    def settle(self, on_its_way: Callable[[str], bool]) -> None:
        """At the end of an event: settled, each message an answer may have settled
        that is no longer `on_its_way` anywhere."""
        if self.maybe_settled:
            for msg_id in self.maybe_settled:
                if msg_id in self.unsettled and not on_its_way(msg_id):
                    self.settled(msg_id)
            self.maybe_settled.clear()

    @property
    def outbox(self) -> tuple[Message, ...]:
        held = self.held
        return tuple(m for m in self.unsettled.values() if m.id in held) if held else ()

    def hold(self, *messages: Message) -> None:
        """Hold `messages` (a direct message: its save) for the registry, in the order typed
        (not typed: at the end), each logged durably as it is held."""
        unsettled, new = self.unsettled, False
        for message in messages:
            new = new or message.id not in unsettled
            if message.id not in self.held or unsettled[message.id] != message:
                self.records.append(Sending(message))
            unsettled[message.id] = message
            self.held.add(message.id)
        if new:  # a leave (answered, never kept): in its place in the order typed
            self._last = (("", ""), "")  # (perhaps no longer the last for its audience)
            ordered = sorted(unsettled.values(), key=self.typed_at)
            unsettled.clear()  # the same dict: PeerCore.unsettled views it
            unsettled.update((m.id, m) for m in ordered)

    def stop_holding(self, message: Message) -> bool:
        """`message` is answered: no longer held, and maybe settled (a leave is). True when it
        was held (its confirmation then says which message it is for)."""
        held = (msg_id := message.id) in self.held
        self.held.discard(msg_id)
        if isinstance(message, Leave):
            self.settled(msg_id)
            self.forget_typed(msg_id)
        else:
            self.maybe(msg_id)
        return held


def audience(line: Message) -> tuple[str, str]:
    """Who says `line` to whom: the sender's key, then a name's key, "#" and a room's, or
    "*" for the channel (both "": none). With the sender's, a line never names one sent under a
    name since changed (its receivers know that one by the old name)."""
    if type(line) is Chat or type(line) is SaveMessage:
        to = name_key(line.to)
    elif type(line) is RoomPost:
        to = "#" + name_key(line.room)
    elif type(line) is ChannelPost:
        to = "*"
    else:
        return "", ""
    return name_key(line.sender), to
