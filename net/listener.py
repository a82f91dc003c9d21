"""A node's TCP listening socket: accepts connections within the limit of StreamSlots and
hands each to a coroutine with its streams. The accept loop is our own: asyncio.start_server's
accepts up to its backlog per wake-up before any is looked at, so a burst could take every
descriptor before the limit was checked; here each is admitted or closed as it is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from collections.abc import Awaitable, Callable

from net.served_stream import fmt_addr
from net.stream_slots import Closable, StreamSlots, stream_limit

Addr = tuple[str, int]
#: Connections the kernel may queue before we accept them: a LAN's join storm (5,000 peers
#: fetching their tables at once), as far as Linux allows (net.core.somaxconn, 4,096 by default).
BACKLOG = 8192
#: Connections accepted per wake-up, so that a burst of them does not hold up datagrams.
ACCEPT_BATCH = 64
#: Seconds accepting pauses when the system has no descriptor to give (as asyncio does).
PAUSE_ON_EXHAUSTION = 1.0
#: accept() errors that say the system is out of something: wait before trying again.
EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: TCP keepalive: a vanished machine is noticed within about half a minute.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 15, 5, 3


def new_socket(kind: socket.SocketKind) -> socket.socket:
    """A new IPv4 socket of `kind` (UDP or TCP): the running loop's `new_socket(kind)` when it
    brings a network of its own (a simulated one runs whole nodes, deterministically), as it
    has `create_connection` for the connections it opens; else the system's."""
    make = getattr(asyncio.get_running_loop(), "new_socket", None)
    if make is None:
        return socket.socket(socket.AF_INET, kind)
    made: socket.socket = make(kind)
    return made


def enable_keepalive(writer: asyncio.StreamWriter) -> None:
    if (sock := writer.get_extra_info("socket")) is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)


def has_hung_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Whether the other end has closed (or reset) the connection, whatever it sent before
    is still unread: answers would reach nobody. False when it cannot be told."""
    if reader.at_eof():
        return True
    sock = writer.get_extra_info("socket")
    dontwait = getattr(socket, "MSG_DONTWAIT", 0)
    if sock is None or not dontwait:
        return False
    try:
        # a look at the kernel's queue on a copy of the descriptor, left as it was
        with socket.fromfd(sock.fileno(), sock.family, sock.type) as look:
            return look.recv(1, socket.MSG_PEEK | dontwait) == b""
    except (BlockingIOError, InterruptedError):
        return False  # nothing more has come: it is there, waiting
    except OSError:
        return True  # reset


Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter, Addr, Closable], Awaitable[None]]
#: Told of each connection turned away or closed for another: its kind (a constant) and a
#: line for the log (net/drop_log.py writes one per kind per interval).
Dropped = Callable[[str, str], None]


class Accepted:
    """One accepted connection: its socket until its streams exist, then its writer (closed
    through it, or the descriptor could be reused under the transport)."""

    __slots__ = ("sock", "writer")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        else:
            self.sock.close()


class Listener:
    """Accepts TCP connections on one address and serves each with `serve(reader, writer,
    addr, slot)`, `slot` being what to tell `slots` about. `clock`: the monotonic clock
    the slots keep activity by."""

    def __init__(
        self,
        serve: Serve,
        spawn: Callable[[Awaitable[None]], None],
        dropped: Dropped,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = StreamSlots(stream_limit(), clock, dropped=dropped)
        self._serve = serve
        self._spawn = spawn
        self._dropped = dropped
        self._sock: socket.socket | None = None
        self.errors = 0
        #: Accepting is paused: descriptors or memory ran out (see `accept_waiting`).
        self.paused = False

    async def open(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        sock = new_socket(socket.SOCK_STREAM)  # the system's, or the loop's network's
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        loop.add_reader(sock.fileno(), self.accept_waiting, sock)
        self._sock = sock

    def close(self) -> None:
        """Stop listening (the connections are the caller's to end)."""
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def accept_waiting(self, listener: socket.socket) -> None:
        """Accept at most ACCEPT_BATCH connections. A failure but a reset is counted and
        told; out of descriptors or memory, accepting is `paused` for a while."""
        for _ in range(ACCEPT_BATCH):
            try:
                conn, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # reset by the client before we took it: the rest are fine
            except OSError as exc:
                self.errors += 1
                self._dropped(
                    "accept failed", f"could not accept a TCP connection (#{self.errors}): {exc}"
                )
                if exc.errno in EXHAUSTED:  # rather than spin on a socket that stays readable
                    self._pause(listener)
                return
            addr: Addr = (str(peer[0]), int(peer[1]))
            accepted = Accepted(conn)
            if not self.slots.admit(accepted, addr[0], fmt_addr(addr)):
                conn.close()
                continue
            conn.setblocking(False)
            self._spawn(self._streams(accepted, addr))

    def _pause(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(listener.fileno())
        self.paused = True

        def resume() -> None:
            self.paused = False
            if self._sock is listener:
                loop.add_reader(listener.fileno(), self.accept_waiting, listener)

        loop.call_later(PAUSE_ON_EXHAUSTION, resume)

    async def _streams(self, accepted: Accepted, addr: Addr) -> None:
        try:
            try:
                reader, writer = await asyncio.open_connection(sock=accepted.sock)
            except OSError:
                with contextlib.suppress(OSError):
                    accepted.sock.close()
                return
            accepted.writer = writer
            await self._serve(reader, writer, addr, accepted)
        finally:
            self.slots.release(accepted)
