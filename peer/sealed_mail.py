"""Direct messages saved at the registry travel sealed to their recipient's key, so that
the registry stores and delivers what it cannot read or alter (docs/SECURITY.md).

A save leaves sealed with the Noise one-way pattern X (`net.noise.seal`): only the
recipient's key opens it, and opening it shows the sender's key, which must be the key
the table gives the name it claims. The text of a sealed message is `SEALED_PREFIX` and
the seal in URL-safe base64; what is sealed is the message's id, sender, recipient and
text, so that the registry can move none of them to another message.

A message sealed by the key the recipient pinned for its sender, when they last talked,
opens too: the sender may have moved the name to a new key since (a new machine), or the
registry lost its table, and the message is still from the person the recipient knew.

Sans-IO: the sender's key pair and the table are given; nothing here touches a socket.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.noise import NoiseError, open_sealed, seal
from wire.keys import key_from_text
from wire.messages import Chat, Entry, Message, MoreMail, SaveMessage, StoredMessage, Welcome
from wire.names import name_key

#: Bound into every seal: a message sealed by another protocol does not open as ours.
PROLOGUE = b"ChatApp sealed mail 1"
#: How a sealed text begins.
SEALED_PREFIX = "s1."
#: What is shown in place of a message that does not open, or not with its sender's key.
NOT_OPENED = "[A message that does not open with {sender}'s key: not shown.]"
#: What comes before the text of a direct message kept in clear (saved by a version of
#: ChatApp from before sealed messages): nothing proves who wrote it.
NOT_SEALED = "[not sealed: it may not be from {sender}] "


class SealedMail:
    """Seals the saves that leave for the registry, and opens the direct messages it
    delivers or hands over. `entry` finds a name's table row (following renames); `pinned`
    gives the key pinned for a name when we last talked with it (None: never)."""

    def __init__(
        self,
        static: X25519PrivateKey,
        entry: Callable[[str], Entry | None],
        pinned: Callable[[str], bytes | None] = lambda name: None,
    ) -> None:
        self._static = static
        self._entry = entry
        self._pinned = pinned

    def sealed(self, save: SaveMessage) -> SaveMessage | None:
        """`save` with its text sealed to its recipient's key; None when the table has no
        key for the recipient (a name not seen since the registry began to use keys).
        Raises NoiseError for a key nothing can be sealed to (a low-order point)."""
        entry = self._entry(save.to)
        key = key_from_text(entry.key) if entry is not None else None
        if entry is None or key is None:
            return None
        payload = "\0".join((save.id, save.sender, save.to, save.text)).encode()
        sealed = seal(self._static, key, PROLOGUE, payload)
        text = SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii")
        return SaveMessage(save.id, save.sender, save.token, save.to, text, entry.key)

    def opened(self, message: Message) -> Message:
        """`message` (from the registry) with the direct messages it carries opened: a Chat
        it delivers, the mail of a Welcome or MoreMail. Anything else is returned as is."""
        match message:
            case Chat(id=msg_id, sender=sender, to=to, text=text):
                return Chat(msg_id, sender, to, self._open(msg_id, sender, to, text))
            case Welcome(mail=mail) if mail:
                # the senders' keys are in the table the Welcome brings, not yet ours
                rows = {name_key(e.name): e for e in message.entries}
                opened = tuple(self._stored(m, rows) for m in mail)
                return _with_mail(message, opened)
            case MoreMail(mail=mail) if mail:
                opened = tuple(self._stored(m, {}) for m in mail)
                return MoreMail(message.id, message.reply_to, opened)
            case _:
                return message

    def _stored(self, stored: StoredMessage, rows: dict[str, Entry]) -> StoredMessage:
        """A stored direct message opened; a channel message or a notice as it is."""
        if stored.kind != "direct":
            return stored
        text = self._open(stored.id, stored.sender, "", stored.text, rows)
        return stored._replace(text=text)

    def _open(
        self, msg_id: str, sender: str, to: str, text: str, rows: dict[str, Entry] | None = None
    ) -> str:
        """The text a sealed `text` holds, if it opens with `sender`'s key (the table's, or
        the one we pinned for them) and names this very message; else a line that says it
        does not."""
        if not text.startswith(SEALED_PREFIX):
            return NOT_SEALED.format(sender=sender) + text
        try:
            sealed = base64.urlsafe_b64decode(text[len(SEALED_PREFIX) :])
            key, payload = open_sealed(self._static, PROLOGUE, sealed)
            sealed_id, sealed_sender, sealed_to, body = payload.decode().split("\0", 3)
        except (binascii.Error, ValueError, NoiseError):
            return NOT_OPENED.format(sender=sender)
        entry = (rows or {}).get(name_key(sender)) or self._entry(sender)
        senders = key_from_text(entry.key) if entry is not None else None
        if (
            key not in (senders, self._pinned(sender))
            or (sealed_id, sealed_sender) != (msg_id, sender)
            or (to and sealed_to != to)
        ):
            return NOT_OPENED.format(sender=sender)
        return body


def _with_mail(welcome: Welcome, mail: tuple[StoredMessage, ...]) -> Welcome:
    return Welcome(
        welcome.id,
        welcome.reply_to,
        welcome.name,
        welcome.token,
        welcome.version,
        welcome.entries,
        mail,
        welcome.aliases,
    )
