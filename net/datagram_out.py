"""Sending an endpoint's datagrams without blocking the event loop (net/endpoint.py): what
the kernel refuses, its send buffer full, waits in order until the socket is writable.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol

Addr = tuple[str, int]


class DatagramSocket(Protocol):
    """What a DatagramOut sends on: a non-blocking UDP socket (`socket.socket`), or a
    stand-in of its shape. A Protocol, not the class: compiled (setup.py), DatagramOut
    takes any object that has these, as the pure one does."""

    def sendto(self, data: bytes, address: Addr, /) -> int: ...

    def fileno(self) -> int: ...


#: Datagrams held while the kernel's send buffer is full; beyond this they are dropped
#: (the sender's retries cope, as for any lost datagram).
SEND_QUEUE = 10_000


class DatagramOut:
    """Sends each datagram at once on `sock` (non-blocking), or on `transport` where the
    event loop cannot tell when a socket is writable (Windows' proactor), or nowhere when
    given neither (an endpoint not open, or closed). What the kernel refuses, and every
    datagram after it, waits in order for the socket to be writable. `errors` counts the
    datagrams the kernel would not take, and those dropped beyond SEND_QUEUE."""

    def __init__(
        self,
        sock: DatagramSocket | None = None,
        transport: asyncio.DatagramTransport | None = None,
    ) -> None:
        self._sock = sock
        self._transport = transport
        self._unsent: collections.deque[tuple[bytes, Addr]] = collections.deque()
        self.errors = 0

    def send(self, data: bytes, addr: Addr) -> None:
        """Send `data` to `addr` now, or after what waits already."""
        if self._transport is not None:
            self._transport.sendto(data, addr)
            return
        sock = self._sock
        if sock is None:
            return
        if not self._unsent:
            try:
                sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                asyncio.get_running_loop().add_writer(sock.fileno(), self._writable)
            except OSError:
                self.errors += 1
                return
        if len(self._unsent) < SEND_QUEUE:
            self._unsent.append((data, addr))
        else:
            self.errors += 1

    def close(self) -> None:
        """Send nothing more: what waits is dropped (the socket is its owner's to close)."""
        if self._unsent and self._sock is not None:
            asyncio.get_running_loop().remove_writer(self._sock.fileno())
        self._unsent.clear()
        self._sock = self._transport = None

    def _writable(self) -> None:
        sock = self._sock
        while self._unsent and sock is not None:
            data, addr = self._unsent[0]
            try:
                sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.errors += 1
            self._unsent.popleft()
        if sock is not None:
            asyncio.get_running_loop().remove_writer(sock.fileno())
