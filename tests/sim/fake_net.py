"""A simulated network below the sockets, as trio's fake network sits below its socket API.

UDP sockets and TCP listeners stand in for the system's (the shape net/endpoint.py and
net/listener.py use); TCP connections are asyncio transports (ClockLoop.create_connection).
Datagrams are dropped, duplicated and delayed (so reordered) by a seeded random; a stream
is reliable and in order. Every socket belongs to the process that made it (`OWNER`, a
context variable the world sets for each process's tasks): `kill` ends them all at once,
as the kernel does when a process dies.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import itertools
import random
import selectors
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.sim.fake_stream import FakeStream as _Stream

Addr = tuple[str, int]
#: The process making sockets now (the world sets it for each process's tasks).
OWNER: contextvars.ContextVar[str] = contextvars.ContextVar("OWNER", default="")
#: File descriptors of the simulated sockets: above any the system gives this process.
FIRST_FD = 1 << 24
FIRST_EPHEMERAL = 40000
#: Seconds a connection takes to be made.
STREAM_DELAY = 0.002


class FakeNet:
    """Every socket of the simulated world, and what travels between them."""

    def __init__(
        self,
        loop: Callable[[], asyncio.AbstractEventLoop],
        *,
        seed: int = 0,
        loss: float = 0.0,
        duplicate: float = 0.0,
        delay: tuple[float, float] = (0.0005, 0.002),
    ) -> None:
        self._loop = loop
        self.random = random.Random(seed)
        self.loss, self.duplicate, self.delay = loss, duplicate, delay
        self._fds = itertools.count(FIRST_FD)
        self.ports = itertools.count(FIRST_EPHEMERAL)  # the ephemeral ports, handed out in turn
        self.sockets: dict[int, _Socket] = {}
        self.bound: dict[tuple[int, Addr], _Socket] = {}
        #: The fds of the sockets with something to read (the loop asks at every pass).
        self.readable: set[int] = set()
        self.streams: list[_Stream] = []
        # each path's last arrival: (when it was due, when it was made due), see `send`
        self._last: dict[tuple[Addr, Addr], tuple[float, float]] = {}
        #: Told each datagram as it leaves a socket: (source, destination, bytes); it is
        #: lost when this returns True (a cut in the network).
        self.on_datagram: Callable[[Addr, Addr, bytes], bool] = lambda src, dst, data: False

    # -- the loop's ---------------------------------------------------------------------

    def new_socket(self, kind: socket.SocketKind) -> _Socket:
        sock = _Socket(self, kind, next(self._fds), OWNER.get())
        self.sockets[sock.fd] = sock
        return sock

    def ready(self, fd: int) -> int:
        sock = self.sockets.get(fd)
        if sock is None:
            return 0
        return selectors.EVENT_WRITE | (selectors.EVENT_READ if sock.inbox else 0)

    async def connect(
        self, protocol: asyncio.Protocol, addr: Addr, local: Addr | None
    ) -> asyncio.Transport:
        loop = self._loop()
        await asyncio.sleep(STREAM_DELAY)
        listener = self.bound.get((socket.SOCK_STREAM, addr))
        if listener is None:
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"nothing listens on {addr}")
        here = ((local or ("127.0.0.1", 0))[0], next(self.ports))
        client = _Stream(loop, self.delay[1], here, addr, OWNER.get())
        server = _Stream(loop, self.delay[1], addr, here, listener.owner)
        client.other, server.other = server, client
        self.streams = [s for s in self.streams if not s.is_closing()] + [client, server]
        listener.put((server, here))
        client.attach(protocol)
        return client

    def accepted(self, sock: Any, protocol: asyncio.Protocol) -> asyncio.Transport:
        assert isinstance(sock, _Stream)
        sock.attach(protocol)
        return sock

    # -- what travels -------------------------------------------------------------------

    def send(self, src: Addr, dst: Addr, data: bytes) -> None:
        """A datagram leaves `src` for `dst`: lost, or delivered once or twice, later."""
        if self.on_datagram(src, dst, data) or self.random.random() < self.loss:
            return
        copies = 2 if self.random.random() < self.duplicate else 1
        loop = self._loop()
        for _ in range(copies):
            due = when = loop.time() + self.random.uniform(*self.delay)
            last = self._last.get((src, dst))
            if last is not None and last[0] == due:  # a tie (a fixed delay): in order, as sent
                when = last[1] + 1e-9
            self._last[(src, dst)] = (due, when)
            loop.call_at(when, self._arrive, src, dst, data)

    def _arrive(self, src: Addr, dst: Addr, data: bytes) -> None:
        sock = self.bound.get((socket.SOCK_DGRAM, dst))
        if sock is not None:
            sock.put((data, src))

    def kill(self, owner: str) -> None:
        """Process `owner` dies: its sockets close, its connections are reset."""
        for sock in [s for s in self.sockets.values() if s.owner == owner]:
            sock.close()
        for stream in [s for s in self.streams if s.owner == owner]:
            stream.abort()


class _Socket:
    """A UDP socket, or a TCP listening one, of the simulated network."""

    def __init__(self, net: FakeNet, kind: socket.SocketKind, fd: int, owner: str) -> None:
        self._net, self.kind, self.fd, self.owner = net, kind, fd, owner
        self.address: Addr = ("0.0.0.0", 0)
        self.inbox: deque[tuple[Any, Any]] = deque()
        self.closed = False

    def fileno(self) -> int:
        return self.fd

    def setsockopt(self, level: int, option: int, value: int) -> None:
        if option != socket.SO_RCVBUF and option != socket.SO_REUSEADDR:
            raise OSError(errno.ENOPROTOOPT, "not simulated")  # arrival stamps: none

    def setblocking(self, flag: bool) -> None:
        pass

    def bind(self, address: Addr) -> None:
        host, port = address
        address = (host, port or next(self._net.ports))
        if (self.kind, address) in self._net.bound:
            raise OSError(errno.EADDRINUSE, "Address already in use")
        self.address = address
        self._net.bound[self.kind, address] = self

    def listen(self, backlog: int) -> None:
        pass

    def getsockname(self) -> Addr:
        return self.address

    def sendto(self, data: bytes, address: Addr) -> int:
        if not self.closed:
            self._net.send(self.address, (str(address[0]), int(address[1])), bytes(data))
        return len(data)

    def recvfrom(self, size: int) -> tuple[bytes, Addr]:
        data, src = self._take()
        return data, src

    def accept(self) -> tuple[Any, Addr]:
        stream, addr = self._take()
        return stream, addr

    def put(self, item: tuple[Any, Any]) -> None:
        """`item` arrives: a datagram and its source, or a connection and its address."""
        self.inbox.append(item)
        self._net.readable.add(self.fd)

    def _take(self) -> tuple[Any, Any]:
        if not self.inbox:
            raise BlockingIOError(errno.EAGAIN, "nothing waits")
        item = self.inbox.popleft()
        if not self.inbox:
            self._net.readable.discard(self.fd)
        return item

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.inbox.clear()
        self._net.readable.discard(self.fd)
        self._net.sockets.pop(self.fd, None)
        if self._net.bound.get((self.kind, self.address)) is self:
            del self._net.bound[self.kind, self.address]
