"""The same peers without the protection, to measure what it costs: their secure channel
replaced, for datagrams between peers, by a pass-through.

`unprotect(node)` puts a PassThrough in the place of a registered PeerNode's channel (the
endpoint takes any DatagramChannel, net/outgoing.py). A datagram to any address but the
registry's then leaves as it is, behind one marker byte, and one arriving with the marker
is handed on as if it had opened under the key the table gives for its address. What goes
to and from the registry is still sealed, so registration and keepalives run as usual.
Both ends of a conversation must be unprotected alike. For benchmarks only: it undoes
everything secure/channel.py promises.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.outgoing import DatagramChannel
from peer.adapter.node import PeerNode
from secure.channel import Opened, Send
from wire.keys import key_from_text

Addr = tuple[str, int]

#: The first byte of a datagram in the pass-through: a kind the secure channel never uses.
CLEAR = 9


class Forwarding:
    """A DatagramChannel that hands everything to `channel`: a stand-in overrides only
    what it changes (PassThrough here, bench/direct_path.py's marking channel)."""

    def __init__(self, channel: DatagramChannel) -> None:
        self._channel = channel

    def seal(
        self, datas: list[bytes], dests: Sequence[tuple[Addr, bytes]], now: float, send: Send
    ) -> None:
        self._channel.seal(datas, dests, now, send)

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        return self._channel.open(datagram, addr, now)

    def ask_key(self, addr: Addr) -> bytes:
        return self._channel.ask_key(addr)

    @property
    def static(self) -> X25519PrivateKey:
        return self._channel.static

    @property
    def public(self) -> bytes:
        return self._channel.public

    @property
    def dropped(self) -> collections.Counter[str]:
        return self._channel.dropped


class PassThrough(Forwarding):
    """A DatagramChannel that leaves datagrams between peers as they are, and hands the
    rest to the secure channel it replaces (see the module)."""

    def __init__(self, node: PeerNode) -> None:
        super().__init__(node.endpoint.channel)
        self._registry = node.core.server
        self._table = node.core.table
        self._keys: dict[Addr, bytes] = {}  # by address: the table's, looked up on a miss

    def seal(
        self, datas: list[bytes], dests: Sequence[tuple[Addr, bytes]], now: float, send: Send
    ) -> None:
        for addr, key in dests:
            if addr == self._registry:
                self._channel.seal(datas, [(addr, key)], now, send)
            else:
                for data in datas:
                    send((bytes((CLEAR,)) + data, addr))

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        if datagram[:1] == bytes((CLEAR,)) and addr != self._registry:
            key = self._keys.get(addr) or self._key_at(addr)
            if key is not None:
                return Opened(datagram[1:], key)
        return self._channel.open(datagram, addr, now)

    def _key_at(self, addr: Addr) -> bytes | None:
        """The key of the row at `addr`, an online row's first, kept for the next datagram."""
        for row in sorted(self._table.rows(), key=lambda row: not row.online):
            key = key_from_text(row.key)
            if (row.ip, row.port) == addr and key is not None:
                self._keys[addr] = key
                return key
        return None


def unprotect(node: PeerNode) -> None:
    """Replace `node`'s channel by a PassThrough of it (after it registered)."""
    node.endpoint.channel = PassThrough(node)
