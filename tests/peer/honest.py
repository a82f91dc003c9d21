"""The key each sender seals with, for the tests that drive a peer core as its adapter
does: `PeerCore.receive` takes the key the secure channel opened a message with, and
believes the message only as far as that key may say it (peer.core.table).

`honest_key` is the key the honest sender of a message seals it with: the registry's for
what comes from a registry of the service (or from the registry's machine, as its own TCP
connections do), the sender's row's for a chat, the row's at the address for an ack or a
refusal; a registry's message from anywhere else is a forger's, sealed by the forger's own key.
"""

from __future__ import annotations

import hashlib

from peer.core.dispatch import PeerCore
from wire.keys import key_from_text, key_text
from wire.messages import FILE_DATAGRAMS, Ack, Acks, Chat, Message, Refused

Addr = tuple[str, int]

#: The registry's key, as the tests' cores have it pinned.
REGISTRY_KEY = hashlib.sha256(b"the registry").digest()
#: The key of whoever forges what only the registry sends.
FORGER_KEY = hashlib.sha256(b"a forger").digest()


def peer_key(name: str) -> bytes:
    """The key peer `name` seals with in these tests (one of its own)."""
    return hashlib.sha256(f"peer {name.lower()}".encode()).digest()


def peer_key_text(name: str) -> str:
    """`peer_key(name)` as a table row holds it."""
    return key_text(peer_key(name))


def honest_key(core: PeerCore, message: Message | list[Message], addr: Addr) -> bytes:
    """The key the honest sender of `message` (the first, of a datagram's) from `addr`
    seals it with (see the module's docstring)."""
    one = message[0] if isinstance(message, list) else message
    registry = core.trust.registry
    if addr == core.server:
        return registry
    if isinstance(one, (Chat, *FILE_DATAGRAMS)):
        entry = core.table.entry(one.sender)
        key = key_from_text(entry.key) if entry is not None else None
        return key or peer_key(one.sender)
    if isinstance(one, (Ack, Acks, Refused)):
        # the row at `addr` (an online one's first: an offline one may be left there)
        for row in sorted(core.table.rows(), key=lambda row: not row.online):
            key = key_from_text(row.key)
            if (row.ip, row.port) == addr and key is not None:
                return key
    if addr[0] == core.server[0]:
        return registry  # another registry of the service, or the registry's TCP
    return FORGER_KEY
