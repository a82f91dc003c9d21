"""A node's TCP listening socket, and how many connections it serves at once.

The accept loop is our own: asyncio.start_server's accepts up to its backlog per wake-up
before any is looked at, so a burst could take every descriptor before the limit was
checked; here each is admitted or closed as it is accepted, and handed to a coroutine with
its streams.

Connections are counted against the open-file limit less SPARE_FDS, at most MAX_STREAMS:
a registry always keeps descriptors to accept a peer and open a mailbox.

At the limit a newcomer takes the place of the least useful connection: one that has shown
no key yet, then one waiting for no answer (the longest silent first), then one whose
request has gone unanswered for EVICT_IDLE (the longest waiting first). A fresher request
is protected, but not in the last `reserve` places: a registering peer always gets one.
Help-desk sessions are never evicted. Bytes that complete no frame are no activity.

One address holds at most `per_address`, loopback included: its next connection closes its
own least useful one, or is turned away when all it holds are desk sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import resource
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, cast

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

#: File descriptors left for everything but accepted connections: the UDP socket, the
#: listening socket, the table and mailbox files, logs, outgoing connections.
SPARE_FDS = 64
#: Seconds a request may go unanswered before its connection is as good as any other to
#: close for a newcomer at the limit (a registry answers within moments, or probes for a
#: round of tries, wire.reliable).
EVICT_IDLE = 2.0
#: The share of the limit (one place in this many, at least one) where a request in
#: progress is no protection: newcomers always find a place there.
RESERVE_SHARE = 8
#: The limit when the open-file limit is unlimited.
DEFAULT_LIMIT = 1000
#: The soft open-file limit asked for when the hard one is unlimited (Linux refuses more
#: than its fs.nr_open, by default 1,048,576).
UNLIMITED_WANTED = 1 << 20
#: Most connections served at once: at some 30 KB each, near 120 MB.
MAX_STREAMS = 4096
#: Accepted connections one IP address may hold open at once (at most half the limit):
#: enough for 500 peers on one machine fetching their tables at once (the join storm).
MAX_STREAMS_PER_ADDRESS = 512


class Closable(Protocol):
    def close(self) -> None: ...


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one where the system allows (a shell's is
    often 1,024): the soft limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = UNLIMITED_WANTED if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(OSError, ValueError):  # kept as it was: counted against
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return soft


def stream_limit() -> int:
    """Accepted connections to serve at once, once the open-file limit is raised."""
    soft = raise_open_file_limit()
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_LIMIT
    return max(16, min(MAX_STREAMS, soft - SPARE_FDS))


_SHARE = "{slots.per_address} connections open from {address}, the most one address may hold"
#: The line told of each kind of connection turned away or closed for another.
_DROP_LINES = {
    "turned away: address": "turned away TCP connection #{slots.turned_away} from {where}: "
    + _SHARE
    + ", all of them help-desk sessions",
    "turned away: full": "turned away TCP connection #{slots.turned_away} from {where}: "
    "{open} connections open, the most this process can serve, each a help-desk "
    "session or a request being answered",
    "evicted: address": "closed the least useful TCP connection from {address} to make "
    "room for one more from it (#{slots.evicted_address}): " + _SHARE,
    "evicted: full": "closed the least useful TCP connection to make room for one from "
    "{where} (#{slots.evicted}; {open} open, the most this process can serve)",
}


class StreamSlots:
    """The accepted connections being served: when each last brought a whole frame (or was
    accepted), whether it has shown a key, since when its request waits. Each connection
    turned away, or closed for another, is told to `dropped` (a kind and a line)."""

    def __init__(
        self,
        limit: int,
        clock: Callable[[], float] = time.monotonic,
        per_address: int = MAX_STREAMS_PER_ADDRESS,
        dropped: Callable[[str, str], None] = lambda kind, line: None,
    ) -> None:
        self.limit = limit
        self.per_address = max(1, min(per_address, limit // 2))
        self._clock = clock
        self._dropped = dropped
        # evictable connections with when each was last heard from, longest silent first
        self._heard: dict[Closable, float] = {}
        self._sessions: set[Closable] = set()  # never evicted
        self._address: dict[Closable, str] = {}  # the address of each, those given one
        # each address's connections, sessions too, longest silent first (as in `_heard`)
        self._from: dict[str, dict[Closable, None]] = {}
        # evictable connections whose last frame has not been answered yet, with when the
        # first frame not answered came (later ones do not make it younger)
        self._awaiting: dict[Closable, float] = {}
        # connections that have not shown a key yet (no handshake), oldest first
        self._unproven: dict[Closable, None] = {}
        self.turned_away = 0
        self.evicted = 0
        self.evicted_address = 0  # of `evicted`, those for another of the same address

    def __len__(self) -> int:
        return len(self._heard) + len(self._sessions)

    @property
    def reserve(self) -> int:
        """Places a request in progress does not keep from a newcomer."""
        return max(1, self.limit // RESERVE_SHARE)

    def admit(self, stream: Closable, address: str = "", where: str = "") -> bool:
        """Take a new connection from `address` (an IP; "": never capped; `where`: its IP
        and port, for the line told) in, closing another to make room if need be. False
        (counted): the caller closes it."""
        now, made_room = self._clock(), ""
        own = bool(address) and len(self._from.get(address, ())) >= self.per_address
        if own or len(self) >= self.limit:
            # of its own address's if it holds its share (none: all of them sessions)
            pool = self._from[address] if own else self._heard
            gone, why = self._least_useful(pool, now, own=own), "address" if own else "full"
            if gone is None:
                self.turned_away += 1
                self._tell(f"turned away: {why}", address, where)
                return False
            self._evict(gone)
            self.evicted_address += own
            made_room = f"evicted: {why}"
        self._heard[stream] = now
        self._unproven[stream] = None
        if address:
            self._address[stream] = address
            self._from.setdefault(address, {})[stream] = None
        if made_room:
            self._tell(made_room, address, where)
        return True

    def _tell(self, kind: str, address: str, where: str) -> None:
        line = _DROP_LINES[kind].format(slots=self, open=len(self), address=address, where=where)
        self._dropped(kind, line)

    def _least_useful(
        self, candidates: Iterable[Closable], now: float, *, own: bool
    ) -> Closable | None:
        """Of `candidates` (longest silent first), the one to close for a newcomer; for one
        of the same address (`own`), however short its wait."""
        quiet = waiting = None
        for stream in candidates:
            if stream in self._sessions:
                continue
            if stream in self._unproven:
                return stream  # silent since its accept: the oldest of them comes first
            since = self._awaiting.get(stream)
            if since is None:
                if quiet is None:
                    quiet = stream
            elif waiting is None or since < self._awaiting[waiting]:
                waiting = stream
        if quiet is not None:
            return quiet
        if waiting is None:
            return None
        crowded = len(self._awaiting) > self.limit - self.reserve
        if own or crowded or now - self._awaiting[waiting] >= EVICT_IDLE:
            return waiting
        return None

    def _evict(self, stream: Closable) -> None:
        self.release(stream)
        self.evicted += 1
        stream.close()

    def shown_key(self, stream: Closable) -> None:
        self._unproven.pop(stream, None)

    def heard(self, stream: Closable) -> None:
        """`stream` brought a whole frame: it waits for an answer until `answered`."""
        if self._heard.pop(stream, None) is not None:
            now = self._clock()
            self._heard[stream] = now  # to the end: the order is of activity
            self._awaiting.setdefault(stream, now)
            address = self._address.get(stream)
            if address is not None:
                held = self._from[address]
                del held[stream]
                held[stream] = None

    def answered(self, stream: Closable) -> None:
        """Something was sent back on `stream`: it waits for nothing now."""
        self._awaiting.pop(stream, None)

    def settle(self, stream: Closable) -> None:
        """`stream` now serves a session of its own: never evicted."""
        self._awaiting.pop(stream, None)
        self._unproven.pop(stream, None)
        if self._heard.pop(stream, None) is not None:
            self._sessions.add(stream)

    def release(self, stream: Closable) -> None:
        self._heard.pop(stream, None)
        self._sessions.discard(stream)
        self._awaiting.pop(stream, None)
        self._unproven.pop(stream, None)
        if (address := self._address.pop(stream, None)) is not None:
            held = self._from[address]
            del held[stream]
            if not held:
                del self._from[address]


def fmt_addr(addr: Addr) -> str:
    return f"{addr[0]}:{addr[1]}"


def new_socket(kind: socket.SocketKind) -> socket.socket:
    """A new IPv4 socket of `kind` (UDP or TCP): the running loop's `new_socket(kind)` when it
    brings a network of its own (a simulated one runs whole nodes, deterministically), as it
    has `create_connection` for the connections it opens; else the system's."""
    make = getattr(asyncio.get_running_loop(), "new_socket", None)
    return socket.socket(socket.AF_INET, kind) if make is None else cast(socket.socket, make(kind))


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
        (self.writer or self.sock).close()


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
