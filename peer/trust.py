"""Which messages a peer believes, judged by the key that sent them (docs/SECURITY.md).

The secure channel says which key sent each message; this part says whether that key may
say it. The registry's pinned key may send anything a registry sends. Another key may only
send what one peer sends another: a chat or a file datagram under the name the table binds
to that key, and acks for the chats sent to that key. Everything else is dropped and counted.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

from wire.file_messages import FILE_DATAGRAMS
from wire.keys import key_from_text
from wire.messages import Ack, Acks, Chat, Entry, Message, TooBig

#: Chats sent directly whose acks are still awaited, remembered by id with the key owed:
#: far more than 5 tries of 500 ms hold at any typing speed.
OWED_KEPT = 10_000


class Trust:
    """Believes or drops what arrives. `registry` is the registry's pinned key; `entry`
    finds a name's row in the table (following renames)."""

    def __init__(self, registry: bytes, entry: Callable[[str], Entry | None]) -> None:
        self.registry = registry
        self._entry = entry
        self._owed: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        #: Messages dropped, by why.
        self.dropped: collections.Counter[str] = collections.Counter()
        #: Why the last message dropped was (a constant, for the log of rejections).
        self.why = ""

    def sent(self, chat: Chat, key: bytes) -> None:
        """`chat` was sent to `key`: only `key` may ack it."""
        self._owed[chat.id] = key
        if len(self._owed) > OWED_KEPT:
            self._owed.popitem(last=False)

    def believed(self, message: Message, key: bytes) -> Message | None:
        """`message` as far as `key` may say it (an Acks keeps only the acks owed by `key`),
        or None when it may say none of it."""
        if key == self.registry:
            return message
        if isinstance(message, (Chat, *FILE_DATAGRAMS)):
            entry = self._entry(message.sender)
            if entry is not None and key_from_text(entry.key) == key:
                return message
            self._drop("a chat from a key not its sender's")
            return None
        if isinstance(message, (Ack, TooBig)):
            if self._owed.get(message.reply_to) == key:
                return message
            self._drop("an ack from a key it was not owed by")
            return None
        if isinstance(message, Acks):
            owed = tuple(r for r in message.replies if self._owed.get(r) == key)
            if len(owed) == len(message.replies):
                return message
            if owed:
                return Acks(message.id, owed)
            self._drop("an ack from a key it was not owed by")
            return None
        self._drop("a message only the registry sends, from another key")
        return None

    def _drop(self, why: str) -> None:
        self.dropped[why] += 1
        self.why = why
