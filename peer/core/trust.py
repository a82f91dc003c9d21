"""Which messages a peer believes, judged by the key that sealed them: the one place a peer
decides trust (docs/SECURITY.md, "Who may say what").

The secure channel says which key sealed each message; `RULES` says, for each type of
message, which key may say it. The registry's key (pinned at first contact) may send what a
registry sends, wherever it comes from. Another key may only send what one peer sends
another: a chat or a file datagram under the name the table binds to that key, and acks for
the chats sent to that key. A type not in `RULES` is never sent a peer. What no rule lets
through is dropped, and why is said. Sans-IO: no socket, no clock.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable
from typing import Final

from peer.core.actions import Addr, Emit, FileDatagram, PinKey, Rejected
from wire.file_messages import FILE_DATAGRAMS
from wire.keys import key_from_text
from wire.messages import (
    MESSAGE_TYPES,
    Ack,
    Acks,
    Alive,
    Busy,
    ChannelMessage,
    Chat,
    Entry,
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

#: Chats sent directly whose acks are still awaited, remembered by id with the key owed:
#: far more than a round of tries (wire.reliable) holds at any typing speed.
OWED_KEPT: Final = 10_000


class Rule(enum.Enum):
    """Which key may send a peer a type of message."""

    #: only the registry's (a forgery could point a name at another port, or speak for it)
    REGISTRY = "a message only the registry sends, from another key"
    #: the registry's (it delivers and relays), or the key the table binds to the sender
    SENDER = "a chat from a key not its sender's"
    #: the registry's, or the key the chat it acks was sent to
    OWED = "an ack from a key it was not owed by"


_REGISTRY_SENDS = (Welcome, Refused, Alive, Busy, RoomList, MoreMail, TableSnapshot)
_REGISTRY_PUSHES = (TableUpdate, Saved, Relayed, Restarted, Notice, ChannelMessage)

#: Which key may send a peer each type of message: the one table of trust.
RULES: Final[dict[type, Rule]] = {
    **dict.fromkeys((*_REGISTRY_SENDS, *_REGISTRY_PUSHES, RoomMessage, RoomNotice), Rule.REGISTRY),
    **dict.fromkeys((Chat, *FILE_DATAGRAMS), Rule.SENDER),
    **dict.fromkeys((Ack, Acks, TooBig), Rule.OWED),
}
#: The answers to one chat of ours (an Acks answers several).
_ANSWERS_ONE: Final = (Ack, TooBig)
#: Why a message of a type no rule names is dropped: the requests only the registry
#: handles, the help desk's messages (a desk client's own connection), a file request.
NEVER_SENT: Final = "a message a peer is never sent"
#: The types a peer is never sent: all that RULES does not name.
NEVER_SENT_A_PEER = frozenset(MESSAGE_TYPES.values()) - set(RULES)


class Trust:
    """Believes or drops what arrives. `registry` is the registry's pinned key (b"": none
    yet, and nothing is the registry's); `entry` finds a name's row in the table
    (following renames)."""

    def __init__(self, registry: bytes, entry: Callable[[str], Entry | None]) -> None:
        self.registry = registry
        self._entry = entry
        #: The key each name was last seen talking with, this run, its pin checked then (by
        #: the adapter, which keeps the pins: peer/adapter/key_checks.py); the core asks for
        #: a pin (PinKey) only for a name and key not in it.
        self.talked: dict[str, bytes] = {}
        self._owed: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        #: Messages dropped, by why.
        self.dropped: collections.Counter[str] = collections.Counter()
        #: Why the last message dropped was (a constant, for the log of rejections).
        self.why = ""

    def sent(self, chat: Chat, key: bytes, emit: Emit) -> None:
        """`chat` was sent to `key`: only `key` (or the registry's) may ack it. Its
        recipient's key is asked to be pinned, the first time this run (PinKey), as a
        sender's is when its chat is believed."""
        self._owed[chat.id] = key
        if len(self._owed) > OWED_KEPT:
            self._owed.popitem(last=False)
        if self.talked.get(chat.to) != key:
            emit(PinKey(chat.to, key))

    def from_registry(self, key: bytes) -> bool:
        """Whether `key` is the registry's: what it seals is the service's, from anywhere."""
        return bool(key) and key == self.registry

    def believed(self, message: Message, key: bytes, addr: Addr, emit: Emit) -> Message | None:
        """`message`, from `addr`, as far as `key` may say it, for the core to take (an Acks
        keeps only the acks owed by `key`); None when it may say none of it (a Rejected
        says why, as `why` does) or it is a file datagram (handed to the file transfers as
        a FileDatagram). A peer's chat asks for its sender's key to be pinned, the first
        time this run (PinKey)."""
        rule = RULES.get(type(message))
        one: Message | None = None
        if rule is None:
            pass
        elif key and key == self.registry:  # (`from_registry`, written out: every message)
            one = message
        elif type(message) is Chat or isinstance(message, FILE_DATAGRAMS):
            entry = self._entry(message.sender)
            if entry is not None and key_from_text(entry.key) == key:
                one = message
                if type(message) is Chat and self.talked.get(message.sender) != key:
                    emit(PinKey(message.sender, key))
        elif isinstance(message, _ANSWERS_ONE):
            if self._owed.get(message.reply_to) == key:
                one = message
        elif isinstance(message, Acks):
            one = self._owed_acks(message, key)
        if one is None:
            self._drop(rule.value if rule is not None else NEVER_SENT, message, addr, emit)
        elif rule is Rule.SENDER and type(one) is not Chat:  # (a file datagram)
            emit(FileDatagram(one, key))
            return None
        return one

    def _owed_acks(self, acks: Acks, key: bytes) -> Acks | None:
        """What of `acks` was owed by `key` (None: nothing)."""
        owed = self._owed
        replies = tuple(r for r in acks.replies if owed.get(r) == key)
        if len(replies) == len(acks.replies):
            return acks
        return Acks(acks.id, replies) if replies else None

    def _drop(self, why: str, message: Message, addr: Addr, emit: Emit) -> None:
        """Drop `message`, from `addr`, for `why` (a constant): counted, and said."""
        self.dropped[why] += 1
        self.why = why
        emit(Rejected(why, f"dropped {type(message).__name__} from {addr[0]}:{addr[1]}: {why}"))
