"""A node's sockets, the peer's and the registry's: UDP and TCP on one port number
(docs/PROTOCOL.md, "Transports"). Everything travels in the secure channel; what arrives is
handed over with the public key that sealed it, which is what the owner trusts (the source
address only says where to answer). Datagrams are read in drains, opened, decoded and handed
over here; what leaves is `net.outgoing`'s, serving a TCP connection `net.served_stream`'s."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Protocol, TypedDict, Unpack, cast
from weakref import WeakKeyDictionary

from net.drop_log import Rejections
from net.listener import Listener, fmt_addr, new_socket
from net.outgoing import AckDelay, DatagramChannel, Dest, Outgoing
from net.served_stream import Handoff, SentStreams, ServedStream, clear_refusal, send_alone, why_bad
from secure.channel import DATA_KIND, Opened
from secure.stream import BufferBudget
from wire.base import IdMaker
from wire.codec import DECODE_ERRORS, DecodeError, OtherVersion, decode_datagram, encode, undecoded
from wire.limits import MAX_DATAGRAM
from wire.messages import VERSION_REFUSAL, Ack, Acks, Message, Refused, TooBig
from wire.refusals import RefusalCode

Addr = tuple[str, int]
#: Handed each message with where it came from and the public key that sent it.
OnMessage = Callable[[Message, Addr, bytes], None]
OnBatch = Callable[[list[Message], Addr, bytes], None]


class Owed(Protocol):
    """Acks owed (`Endpoint.acks_later`): the owner's own record of them, taken as it is."""

    @property
    def addr(self) -> Any: ...  # an Addr (hot path: Any, kept boxed)
    @property
    def key(self) -> bytes: ...
    @property
    def replies(self) -> Sequence[str]: ...


#: Bytes asked of the kernel for the UDP receive buffer, so bursts of acks are not dropped.
RECEIVE_BUFFER = 4 * 1024 * 1024
#: Ports tried when any port will do (port 0), should the one UDP got be taken for TCP.
ANY_PORT_TRIES = 20
#: Each event loop's one timer for the acks that wait (net/outgoing.py).
_ACK_DELAYS: WeakKeyDictionary[asyncio.AbstractEventLoop, AckDelay] = WeakKeyDictionary()
#: Datagrams read per wake-up of the event loop. asyncio's DatagramProtocol reads one per
#: loop pass, so a burst (the acks of a broadcast) overflows the kernel buffer; reading all
#: that is waiting, up to this many, keeps up. Bounded so TCP and timers still get their turn.
DRAIN_BATCH = 512
#: Largest datagram read: above MAX_DATAGRAM, so an oversized one is seen and counted.
RECV_SIZE: Final = 65536
#: A drain's first datagrams: after each, a poll (a fifth of a read finding none) says if more wait.
DRAIN_PROBES: Final = 2

#: Linux's SO_TIMESTAMPNS, the kernel's stamp of each datagram's arrival (and its control
#: message's type): 35 on the machines named in _MACHINES; others go without the stamp.
SO_TIMESTAMPNS: int = getattr(socket, "SO_TIMESTAMPNS", 35)
_MACHINES = ("x86_64", "i386", "i486", "i586", "i686", "aarch64", "arm", "riscv", "ppc", "s390")
#: The stamp, the only control message: a struct timespec, two C longs, and its room.
TIMESPEC = struct.Struct("@ll")
ANCILLARY_SIZE = socket.CMSG_SPACE(TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0

#: Drops counted but never logged: a datagram of a session this side no longer has comes
#: from a sender that makes a new one by itself, as WireGuard's does (its line every few
#: minutes looked like an alarm).
QUIET_DROPS = frozenset({"no such session"})


class EndpointOptions(TypedDict, total=False):
    """What an `Endpoint` may be given besides its owner, channel and session."""

    #: Message types whose first frame on a TCP connection hands it to a coroutine of its own.
    handoff: tuple[frozenset[str], Handoff] | None
    #: Receives one line per rejected input (unless `rejections` is given).
    log: Callable[[str], None]
    #: The owner's one log of rejections (net/drop_log.py), shared with its own refusals.
    rejections: Rejections
    #: The owner's flood control, asked by source address of each message of a frame and
    #: every datagram but DATA, which is opened first, as WireGuard opens transport data
    #: (a forged or replayed one costs one decryption): dropped undecoded when it says no.
    gate: Callable[[Addr], bool] | None
    #: A peer's: given, DATA that opened is offered to it by its source and key, only while
    #: the socket lags (`lagging`), and dropped undecoded when it says no.
    key_gate: Callable[[Addr, bytes], bool] | None
    #: Handed the messages of one datagram together, in order (else `on_message`, one by one).
    on_batch: OnBatch | None
    #: A relay's: what is sent in a drain waits for its end (net/outgoing.py). Not a peer's,
    #: whose ack its sender waits for: the first datagram to an address leaves at once.
    coalesce_drains: bool
    #: Called once each drain's datagrams are handed over (a timer re-armed per drain).
    on_drained: Callable[[], None] | None
    #: The monotonic clock; the wall clock the kernel's arrival stamps are read against.
    clock: Callable[[], float]
    wall: Callable[[], float]
    #: Whether to ask the kernel to stamp each datagram's arrival (SO_TIMESTAMPNS) for
    #: `behind`: a registry's, which answers Busy by it (each datagram costs a recvmsg).
    arrival_stamps: bool


class Endpoint:
    """UDP and TCP on one port, turning bytes into messages for `on_message`. Nothing larger
    than what asked goes to an address that has not shown it receives there: the secure
    channel answers a new address with a (smaller) handshake response only, and opens data
    only from its session's address."""

    no_key = 0  # datagrams not sent: no key known for their address
    errors = 0  # reads the socket failed (ICMP errors and the like; sends: Outgoing)
    bad_datagrams = 0
    bad_frames = 0
    slow_frames = 0  # connections closed for FRAME_DEADLINE
    address: Addr = ("", 0)
    _sock: socket.socket | None = None
    _probe: select.poll | None = None  # polls `_sock` alone (None once closed)
    arrival_stamped = False  #: whether the system does as `arrival_stamps` asks, once open
    _arrived: float | None = None  # on the wall clock, what `behind` counts from
    #: Whether the last drain stopped short, datagrams still waiting: the socket lags.
    lagging = False
    #: When the drain being handled began, on `clock`: the `now` of each datagram it reads
    #: (one clock read per wake-up; a drain lasts milliseconds at most), read-only outside.
    read_at: float = 0.0
    # the last `send_many`'s addresses, keys and destinations (a burst's lines share them)
    _many: tuple[Sequence[Addr], Sequence[bytes], list[Dest]] = ((), (), [])
    # the Dest sent to last, one object found by identity where kept (hot path: Any, kept boxed)
    _dest: Any = (("", 0), b"")
    #: The message `send` encoded last, with its bytes (read-only outside).
    sent: tuple[Message | None, bytes] = (None, b"")
    #: Told the id of a message sent on a connection of its own when that connection ends.
    on_stream_end: Callable[[str], None] = staticmethod(lambda msg_id: None)

    def __init__(
        self,
        on_message: OnMessage,
        *,
        channel: DatagramChannel,
        session: str,
        **options: Unpack[EndpointOptions],
    ) -> None:
        """`session` makes the ids of what the endpoint itself sends."""
        self._on_message = on_message
        self._on_batch = options.get("on_batch")
        self._clock = options.get("clock", time.monotonic)
        self._wall = options.get("wall", time.time)
        self._on_drained = options.get("on_drained")
        self._wants_stamps = options.get("arrival_stamps", False)
        self._handoff = options.get("handoff")
        self._log: Callable[[str], None] = options.get("log", lambda line: None)
        self._own_rejections = "rejections" not in options  # (else its owner's to close)
        self.rejections = options.get("rejections") or Rejections(self._log)
        self.buffers = BufferBudget()
        self._new_id = IdMaker(session)
        self._gate = options.get("gate")
        self._key_gate = options.get("key_gate")
        #: What leaves now and what waits to leave packed (net/outgoing.py). Read-only
        #: outside, but for its `on_sent`.
        coalesce = options.get("coalesce_drains", False)
        self.outgoing = Outgoing(self._new_id, channel, self._clock, coalesce_drains=coalesce)
        #: Within it, what is sent leaves packed at its end (Outgoing.packed).
        self.packed = self.outgoing.packed
        self._routes: dict[Addr, ServedStream] = {}
        #: The TCP connections served or opened now, a task each (read-only outside).
        self.tasks: set[asyncio.Task[None]] = set()
        #: The TCP connections opened to send, bounded per address (read-only outside).
        self.sent_streams = SentStreams()
        #: Accepted connections, bounded to leave file descriptors for files (its `slots`:
        #: read-only outside), each read until it ends (net/served_stream.py).
        self.listener = Listener(
            lambda reader, writer, addr, slot: ServedStream(self, writer, addr, slot).serve(reader),
            self._spawn,
            self.rejections,
            self._clock,
        )

    @property
    def channel(self) -> DatagramChannel:
        """What seals every datagram sent and opens every one read (replaceable: a
        benchmark's stand-in goes here)."""
        return self.outgoing.channel

    @channel.setter
    def channel(self, channel: DatagramChannel) -> None:
        self.outgoing.channel = channel

    async def open(self, host: str, port: int) -> Addr:
        """Bind UDP and TCP on `host`:`port`: the address bound, or OSError. With port 0,
        another UDP port is picked while the one picked is taken for TCP."""
        loop, attempt = asyncio.get_running_loop(), 0
        while True:
            attempt += 1
            sock = new_socket(socket.SOCK_DGRAM)  # the system's, or the loop's network's
            try:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                sock.bind((host, port))
            except OSError:
                sock.close()
                raise
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self.drain)
            self._sock = sock
            self._probe = select.poll()
            self._probe.register(sock.fileno(), select.POLLIN)
            later = _ACK_DELAYS.setdefault(loop, AckDelay(loop.call_later))
            self.outgoing.open(loop.call_soon, later, sock)
            self.arrival_stamped = self._wants_stamps and stamp_arrivals(sock)
            self.address = sock.getsockname()[:2]
            try:
                await self.listener.open(host, self.address[1])
            except OSError as exc:
                await self.close()
                if port != 0 or exc.errno != errno.EADDRINUSE or attempt >= ANY_PORT_TRIES:
                    raise
                continue
            return self.address

    async def close(self) -> None:
        """Send what waits (the acks owed too), then close every socket and connection."""
        self.outgoing.acks_leave()
        self.outgoing.flush()
        self.outgoing.close()
        self._probe = None
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self.listener.close()
        if self._own_rejections:
            self.rejections.close()  # the counts held so far are told
        for served in list(self._routes.values()):
            served.writer.close()
        for task in list(self.tasks):
            task.cancel()
        self._routes.clear()

    def send(self, addr: Addr, message: Message, key: bytes, *, stream: bool = False) -> None:
        """Send `message` to `addr`, for the public key `key` there: on the TCP connection it
        came from if there is one, as a datagram if it fits (unless `stream`), else over a
        new TCP connection. With no key (b"") nothing leaves but a line in the log."""
        if self._routes and self.connected(addr):
            self._routes[addr].write(message)
            return
        if not key:
            self.no_key += 1
            self.rejections(
                "no key", f"not sent to {fmt_addr(addr)}: no key known there (#{self.no_key})"
            )
            return
        dest = self._dest
        was: Addr = dest[0]
        if was != addr or dest[1] is not key:
            dest = self._dest = cast(Any, (addr, key))  # (hot path: Any, kept boxed)
        if stream:
            self._spawn(send_alone(self, dest, message))
            return
        outgoing = self.outgoing
        if type(message) is Ack:
            outgoing.datagram(b"", dest, message)  # merged with the others waiting, or alone
            return
        if type(message) is Acks:
            outgoing.send_acks(dest, message)
            return
        data = encode(message)
        self.sent = (message, data)
        if len(data) <= MAX_DATAGRAM:  # (`fits_datagram`, written out: every message)
            outgoing.datagram(data, dest)
            return
        if reply_to := getattr(message, "reply_to", ""):
            # A reply that does not fit: say so in a small datagram; they ask again over TCP.
            outgoing.datagram(encode(TooBig(self._new_id(), str(reply_to))), dest)
            return
        self._spawn(send_alone(self, dest, message))

    def acks_later(self, owed: Owed) -> None:
        """Ack `owed.replies` to `owed.addr`, for `owed.key`, within ACK_DELAY (net/outgoing.py),
        or now on the TCP connection they came from."""
        at, key = owed.addr, owed.key
        if self._routes and self.connected(at):
            self.send(at, Acks(self._new_id(), (*owed.replies,)), key)
        else:
            self.outgoing.acks_later((at, key), owed.replies)

    def connected(self, addr: Addr) -> bool:
        """Whether a TCP connection accepted from `addr` is open (`send` to `addr` uses it)."""
        served = self._routes.get(addr)
        return served is not None and not served.writer.is_closing()

    def send_many(self, addrs: Sequence[Addr], keys: Sequence[bytes], message: Message) -> None:
        """Send `message` to each of `addrs`, for the key of the same place in `keys`, as
        `send` would, encoding it once. Neither sequence may change afterwards: the next
        call with the same two (a burst's next line) is known by identity."""
        data, routes, many = encode(message), self._routes, self._many
        if many[0] is not addrs or many[1] is not keys:  # (none if a key is missing)
            dests = list(zip(addrs, keys, strict=True)) if all(keys) else []
            many = self._many = (addrs, keys, dests)
        dests = many[2]
        if getattr(message, "reply_to", "") or len(data) > MAX_DATAGRAM or len(dests) < len(addrs):
            for addr, key in zip(addrs, keys, strict=True):
                self.send(addr, message, key)
            return
        if not routes and self.outgoing.relay(dests, data):
            return  # waiting in the drain's relay entry
        for dest in dests:
            served = routes.get(dest[0]) if routes else None
            if served is not None and not served.writer.is_closing():
                served.write(message)
            else:
                self.outgoing.datagram(data, dest)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def behind(self) -> float:
        """Seconds the first datagram of the drain being handled (or the last) waited since it
        reached the host, by the kernel's stamp (those after it waited less): 0 once a drain
        empties the socket. Without stamps, the time since the first drain that stopped at
        DRAIN_BATCH with more waiting (the longest a datagram read now may have waited)."""
        since = self._arrived
        return 0.0 if since is None else max(0.0, self._wall() - since)

    def wait_readable(self, timeout: float) -> bool:
        """Whether a datagram waits on the socket, waiting up to `timeout` seconds (blocking:
        for a caller that runs `drain` itself)."""
        probe = self._probe
        return probe is not None and bool(probe.poll(timeout * 1000))

    def drain(self) -> None:
        """Read, open and hand over what waits on the socket (DRAIN_BATCH datagrams at most),
        then send what answers them (see DRAIN_PROBES)."""
        outgoing = self.outgoing
        outgoing.holding, outgoing.draining = outgoing.coalesce_drains, True
        self.read_at, emptied, n = self._clock(), False, -1
        stamped, probe = self.arrival_stamped, self._probe
        last: Addr | None = None  # the sender of the datagram handled last
        try:
            while (n := n + 1) < DRAIN_BATCH:  # (no range object: every wake-up)
                sock = self._sock
                if sock is None:  # closed by a handler
                    return
                try:
                    if stamped and n == 0:  # the drain's first: those after it came later
                        data, ancillary, _, peer = sock.recvmsg(RECV_SIZE, ANCILLARY_SIZE)
                        if ancillary and ancillary[0][1] == SO_TIMESTAMPNS:
                            seconds, nanoseconds = TIMESPEC.unpack_from(ancillary[0][2])
                            self._arrived = seconds + nanoseconds * 1e-9
                    else:
                        data, peer = sock.recvfrom(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    emptied = True
                    break
                except OSError:  # ICMP port unreachable and the like: retries cope
                    self.errors += 1
                    continue
                if outgoing.relaying_early and peer != last:
                    # what the last sender relayed leaves now, before another's is handled
                    outgoing.datagram_ends()
                self._datagram(data, peer)  # (host, port): the socket is IPv4
                last = peer
                if n < DRAIN_PROBES and probe is not None and not probe.poll(0):
                    emptied = True
                    break
        finally:  # the drain is over: what answers it leaves
            if emptied or self._arrived is None:  # (unstamped: from a short drain's start)
                self._arrived = None if emptied else self._wall() - (self._clock() - self.read_at)
            self.lagging, outgoing.draining = not emptied, False
            if outgoing.holding or outgoing.flush_asked:
                outgoing.drain_ends()
            else:  # (`drain_ends`, written out: every drain)
                outgoing.went.clear()
            if self._on_drained is not None:
                self._on_drained()

    def receive(self, data: bytes, addr: Addr, now: float) -> None:
        """Open, decode and hand over one datagram read elsewhere, as a drain does."""
        self.read_at = now
        self._datagram(data, addr)

    def ask_key(self, addr: Addr) -> None:
        """Ask `addr` for its public key in clear; the answer comes to `on_key`."""
        self.outgoing.send_sealed((self.outgoing.channel.ask_key(addr), addr))

    #: Told of a key a registry answered with (see `ask_key`).
    on_key: Callable[[Addr, bytes], None] = staticmethod(lambda addr, key: None)
    #: Told of each handshake the side with `key` at `addr` answered, with a response or,
    #: under load, a cookie reply: it runs, though no message of it may have come yet.
    on_handshake: Callable[[Addr, bytes], None] = staticmethod(lambda addr, key: None)

    def _datagram(self, data: bytes, at: Any) -> None:
        """Open, decode and hand over one datagram read from `at`, an Addr (handed on as it is)."""
        addr: Addr = at
        key_gate = self._key_gate
        if data[:1] == DATA_KIND:
            # opened before any gate, as WireGuard opens transport data (see
            # EndpointOptions.gate), and counted by its key only while the socket lags
            if not self.lagging:
                key_gate = None
        elif self._gate is not None and not self._gate(at):
            return  # flood control: dropped before any work is spent on it
        else:
            key_gate = None
        opened = self.outgoing.channel.open(data, at, self.read_at)
        body = opened.data
        if body is None or opened.send:
            body = self._not_only_data(opened, data, addr)
            if body is None:
                return
        key = opened.key
        if key_gate is not None and not key_gate(at, key):
            return  # over its key's rate while we lag: dropped before it is decoded
        try:
            decoded = decode_datagram(body)
        except DECODE_ERRORS as exc:
            self._undecoded(undecoded(body, exc), addr, key)
            return
        messages = decoded if isinstance(decoded, list) else [decoded]
        if self._on_batch is not None:
            self._on_batch(messages, at, key)
            return
        for message in messages:
            self._on_message(message, at, key)

    def _not_only_data(self, opened: Opened, data: bytes, addr: Addr) -> bytes | None:
        """Carry out what `opened` holds besides data (answers, a key learned, a datagram in
        clear, a drop, a handshake answered): the data to hand over, or None."""
        for packet in opened.send:
            self.outgoing.send_sealed(packet)
        if opened.learned:
            self.on_key(addr, opened.learned)
        if opened.clear:  # a version of ChatApp from before the secure channel
            self.bad_datagrams += 1
            refused = clear_refusal(self, data, addr)
            if refused is not None:
                # answered in clear by the refusal, or TooBig (asked again over TCP), no
                # bigger than the request: its source is not proven (no amplification)
                reply = encode(refused)
                if len(reply) > len(data):
                    reply = encode(TooBig(self._new_id(), refused.reply_to))
                if len(reply) <= len(data):
                    self.outgoing.send_sealed((reply, addr))
            return None
        if opened.data is not None:
            return opened.data
        if opened.dropped:  # counted by the channel (the registry's `stats`)
            if opened.dropped in QUIET_DROPS:
                return None
            self.rejections(
                "unopened datagram",
                f"dropped a datagram from {fmt_addr(addr)}: {opened.dropped} "
                f"(#{self.outgoing.channel.dropped.total()})",
            )
        elif opened.key or opened.under_load:  # a handshake answered
            self.on_handshake(addr, opened.key or opened.under_load)
        return None

    def _undecoded(self, exc: DecodeError, addr: Addr, key: bytes) -> None:
        """An opened datagram is no message: logged; a request of another version is told so."""
        self.bad_datagrams += 1
        self.rejections(
            "bad datagram",
            f"dropped bad datagram #{self.bad_datagrams} from {fmt_addr(addr)}: {why_bad(exc)}",
        )
        if isinstance(exc, OtherVersion) and exc.request_id:
            # its sender is told why, rather than left to wait out its retries in silence
            refused = Refused(self._new_id(), exc.request_id, VERSION_REFUSAL, RefusalCode.VERSION)
            self.send(addr, refused, key)


def stamp_arrivals(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram `sock` receives: whether it will."""
    linux = sys.platform.startswith("linux") and os.uname().machine.startswith(_MACHINES)
    if linux and ANCILLARY_SIZE:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            return True
    return False
