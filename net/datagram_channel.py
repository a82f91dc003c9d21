"""What an `Endpoint` seals and opens its datagrams with: the secure channel, or a stand-in
(bench/unprotected.py; a test's). A Protocol, so that the compiled endpoint takes either.
"""

from __future__ import annotations

import collections
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import Opened

Addr = tuple[str, int]


class DatagramChannel(Protocol):
    """Seals what is sent and opens what arrives, each for one key (secure/channel.py
    states the contract of each)."""

    @property
    def static(self) -> X25519PrivateKey:
        """This side's key pair (the TCP connections' secure streams use it too)."""
        ...

    @property
    def public(self) -> bytes:
        """This side's public key."""
        ...

    @property
    def dropped(self) -> collections.Counter[str]:
        """Datagrams dropped, by reason."""
        ...

    def seal(self, data: bytes, addr: Addr, key: bytes, now: float) -> list[tuple[bytes, Addr]]:
        """The datagrams that carry `data` to `key` at `addr`."""
        ...

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        """What `datagram` from `addr` carried, from whom, and what to send in answer."""
        ...

    def ask_key(self, addr: Addr) -> bytes:
        """The datagram, in clear, that asks `addr` for its public key."""
        ...
