"""Direct messages saved at the registry travel sealed to their recipient's key: the
registry stores what it cannot read or alter (docs/SECURITY.md).

A save is sealed with Noise's one-way pattern X (secure/one_way.py): its id, sender,
recipient and text, so that none moves to another message. It opens with the sender's
key in the table, the one pinned for the sender, or the one the registry says saved it
(`saved_by`); a key other than the one pinned is said once. Sans-IO.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.noise import NoiseError, open_sealed
from secure.one_way import OneWayOpener, OneWaySealer
from wire.keys import key_from_text, key_text
from wire.messages import Chat, Entry, Message, MoreMail, SaveMessage, StoredMessage, Welcome
from wire.names import name_key

#: Bound into every seal: a message sealed by another protocol does not open as ours.
PROLOGUE = b"ChatApp sealed mail 1"
#: How a sealed text begins.
SEALED_PREFIX = "s2."
#: How a text sealed as one Noise_X message of its own begins.
X_PREFIX = "s1."
#: Recipients' keys a sender keeps a stream to (secure/one_way.py), the oldest dropped first.
STREAMS_KEPT = 256
#: What is shown in place of a message that does not open, or not with its sender's key.
NOT_OPENED = "[A message that does not open with {sender}'s key: not shown.]"
#: What comes before the text of a direct message kept in clear (saved by a version of
#: ChatApp from before sealed messages): nothing proves who wrote it.
NOT_SEALED = "[not sealed: it may not be from {sender}] "


class SealedMail:
    """Seals the saves that leave for the registry, and opens the direct messages it
    delivers or hands over. `entry` finds a name's table row; `pinned` the key pinned for a
    name (None: never); `changed` is told of a name whose message opened with another key
    than the one pinned, and whether it came in a Welcome not shown yet; `ticket` is the
    mailbox ticket a key's owner handed us (Tickets, peer/core/shared.py), shown with each save."""

    def __init__(
        self,
        static: X25519PrivateKey,
        entry: Callable[[str], Entry | None],
        pinned: Callable[[str], bytes | None] = lambda name: None,
        changed: Callable[[str, bytes, bool], None] = lambda name, key, welcome: None,
        ticket: Callable[[str], str] = lambda key: "",
    ) -> None:
        self._static = static
        self._sealers: dict[bytes, OneWaySealer] = {}
        self._opener = OneWayOpener(static, PROLOGUE)
        self._entry = entry
        self._pinned = pinned
        self._changed = changed
        self._ticket = ticket

    def sealed(self, save: SaveMessage) -> SaveMessage | None:
        """`save` with its text sealed to its recipient's key, with the ticket its recipient
        handed us (if any): the table's key, else the one pinned for the name (a table that
        has none: the registry dropped it, or a stale row); None when neither has one (a
        name never seen with a key). Raises NoiseError for a key nothing can be sealed to
        (a low-order point)."""
        entry = self._entry(save.to)
        key = key_from_text(entry.key) if entry is not None else None
        key = key or self._pinned(save.to)
        if key is None:
            return None
        payload = "\0".join((save.id, save.sender, save.to, save.text)).encode()
        if (sealer := self._sealers.get(key)) is None:  # the stream of seals to `key`
            sealer = OneWaySealer(self._static, key, PROLOGUE)
            if len(self._sealers) >= STREAMS_KEPT:
                del self._sealers[next(iter(self._sealers))]
            self._sealers[key] = sealer
        sealed = sealer.seal(payload)
        text = SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii")
        recipient = key_text(key)
        return msgspec.structs.replace(
            save, text=text, key=recipient, ticket=self._ticket(recipient)
        )

    def opened(self, message: Message) -> Message:
        """`message` (from the registry) with the direct messages it carries opened: a Chat
        it delivers, the mail of a Welcome or MoreMail. Anything else is returned as is."""
        if type(message) not in CARRIERS:
            return message  # (most of what the registry sends: no match to try)
        match message:
            case Chat():
                return msgspec.structs.replace(message, text=self._open(message))
            case Welcome(mail=mail) if mail:
                # the senders' keys are in the table the Welcome brings, not yet ours
                rows = {name_key(e.name): e for e in message.entries}
                opened = tuple(self._stored(m, rows, welcome=True) for m in mail)
                return msgspec.structs.replace(message, mail=opened)
            case MoreMail(mail=mail) if mail:
                opened = tuple(self._stored(m, {}) for m in mail)
                return msgspec.structs.replace(message, mail=opened)
            case _:
                return message

    def _stored(
        self, stored: StoredMessage, rows: dict[str, Entry], *, welcome: bool = False
    ) -> StoredMessage:
        """A stored direct message opened; a channel message or a notice as it is."""
        if stored.kind != "direct":
            return stored
        # (a stored message names no recipient: it is in our mailbox)
        chat = Chat(stored.id, stored.sender, "", stored.text, stored.saved_by)
        return stored._replace(text=self._open(chat, rows, welcome=welcome))

    def _open(
        self, chat: Chat, rows: dict[str, Entry] | None = None, *, welcome: bool = False
    ) -> str:
        """The text `chat`'s sealed text holds, if it opens with a key of its sender's and
        names this very message (and its recipient, if it names one); else a line saying
        it does not."""
        sender = chat.sender
        prefix = chat.text[: len(SEALED_PREFIX)]
        if prefix not in (SEALED_PREFIX, X_PREFIX):
            return NOT_SEALED.format(sender=sender) + chat.text
        try:
            sealed = base64.urlsafe_b64decode(chat.text[len(prefix) :])
            if prefix == SEALED_PREFIX:
                key, payload = self._opener.open(sealed)
            else:
                key, payload = open_sealed(self._static, PROLOGUE, sealed)
            sealed_id, sealed_sender, sealed_to, body = payload.decode().split("\0", 3)
        except (binascii.Error, ValueError, NoiseError):
            return NOT_OPENED.format(sender=sender)
        entry = (rows or {}).get(name_key(sender)) or self._entry(sender)
        senders = key_from_text(entry.key) if entry is not None else None
        pinned = self._pinned(sender)
        if (
            key not in (senders, pinned, key_from_text(chat.saved_by))
            or (sealed_id, sealed_sender) != (chat.id, sender)
            or (chat.to and sealed_to != chat.to)
        ):
            return NOT_OPENED.format(sender=sender)
        if pinned is not None and key != pinned:
            self._changed(sender, key, welcome)
        return body


#: The messages that may carry sealed direct messages (see `SealedMail.opened`).
CARRIERS = frozenset({Chat, Welcome, MoreMail})
