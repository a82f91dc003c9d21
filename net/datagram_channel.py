"""What an `Endpoint` seals and opens its datagrams with: the secure channel, or a stand-in
(bench/unprotected.py; a test's). A Protocol: the endpoint takes either.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import Dest, Opened, Send

Addr = tuple[str, int]


class DatagramChannel(Protocol):
    """Seals what is sent and opens what arrives (secure/channel.py states each contract)."""

    @property
    def static(self) -> X25519PrivateKey: ...

    @property
    def public(self) -> bytes: ...

    @property
    def dropped(self) -> collections.Counter[str]: ...

    def seal(self, datas: list[bytes], dests: Sequence[Dest], now: float, send: Send) -> None: ...

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened: ...

    def ask_key(self, addr: Addr) -> bytes: ...
