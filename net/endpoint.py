"""A node's sockets, the peer's and the registry's: UDP and TCP on one port number
(docs/PROTOCOL.md, "Transports"). Everything travels in the secure channel; what arrives is
handed over with the public key that sealed it, which is what the owner trusts (the source
address only says where to answer). Receiving datagrams is `net.datagram_in`'s part,
serving a TCP connection `net.served_stream`'s; sending, and the sockets, are this one's."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import select
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol, TypedDict, Unpack, cast
from weakref import WeakKeyDictionary

from net.arrival import stamp_arrivals
from net.datagram_channel import DatagramChannel
from net.datagram_in import ReceivingDatagrams
from net.drop_log import Rejections
from net.listener import Listener
from net.new_socket import new_socket
from net.outgoing import AckDelay, Dest, Outgoing
from net.served_stream import Handoff, ServedStream
from net.served_stream import fmt_addr as _fmt
from net.stream_slots import Closable, SentStreams
from secure.stream import BufferBudget, SecureStream
from wire.codec import encode, fits_datagram
from wire.ids import IdMaker
from wire.limits import MAX_DATAGRAM
from wire.messages import Ack, Acks, Message, TooBig

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


class EndpointOptions(TypedDict, total=False):
    """What an `Endpoint` may be given besides its owner, channel and session; any
    may be left out (or None, where it may be None)."""

    #: Message types whose first frame on a TCP connection hands the connection to a
    #: coroutine of its own.
    handoff: tuple[frozenset[str], Handoff] | None
    #: Receives one line per rejected input (unless `rejections` is given).
    log: Callable[[str], None]
    #: The owner's one log of rejections (net/drop_log.py), shared with its own refusals;
    #: without it the endpoint makes one of its own, writing to `log`.
    rejections: Rejections
    #: The owner's flood control: each message of a frame, and every datagram but DATA,
    #: is first offered to it by source address, and dropped undecoded when it says no.
    #: DATA is opened first, as WireGuard opens transport data: one naming no live session
    #: at its source address is dropped by its header; a forged or replayed one costs one
    #: decryption (a registry counts the requests it holds: registry/core/flood.py).
    gate: Callable[[Addr], bool] | None
    #: A peer's: given, DATA that opened is offered to it by its source and key, only while
    #: the socket lags (`lagging`), and dropped undecoded when it says no.
    key_gate: Callable[[Addr, bytes], bool] | None
    #: Handed the messages of one datagram together, in order (so the owner can record,
    #: show and answer them in one go); without it, `on_message` is handed them one by one.
    on_batch: OnBatch | None
    #: True for a relay: everything sent while handling one drain of the socket waits for
    #: the end of the drain and leaves packed, acks merged, except the drain's first relay
    #: to many members (`send_many`), which leaves at once (with what its sender's next
    #: datagram relays, if that is the next read). False for a peer, whose ack is
    #: what its sender waits for: the first datagram to an address in a pass of the event
    #: loop leaves at once.
    coalesce_drains: bool
    #: Called once the datagrams read in one wake-up have been handed over: what the owner
    #: does once per event, re-arming its timer, it can do once per drain instead.
    on_drained: Callable[[], None] | None
    #: The monotonic clock it reads, for the secure channel, `behind` and the activity of
    #: the TCP connections accepted (a stand-in in tests).
    clock: Callable[[], float]
    #: The wall clock, which the kernel's arrival stamps are read against (`behind`; a
    #: stand-in in tests).
    wall: Callable[[], float]
    #: Whether to ask the kernel to stamp each datagram's arrival (net/arrival.py), which
    #: `behind` then counts from: a registry's, which answers Busy by it. Reading the stamp
    #: costs every datagram a recvmsg; without it, `behind` counts from the first drain
    #: that stopped short.
    arrival_stamps: bool


def _no_log(line: str) -> None:
    pass


class Endpoint(ReceivingDatagrams):
    """UDP and TCP on one port, turning bytes into messages for `on_message`.

    Nothing larger than what asked ever goes to an address that has not shown it receives
    there: the secure channel answers a new address with a handshake response only
    (smaller than the initiation), and opens data only from its session's address."""

    no_key = 0  # datagrams not sent: no key known for their address
    slow_frames = 0  # connections closed for FRAME_DEADLINE
    address: Addr = ("", 0)
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
        """`channel` seals and opens every datagram, each for the key it is sent with;
        `session` makes the ids of what the endpoint itself sends. See `EndpointOptions`."""
        self._on_message = on_message
        self._on_batch = options.get("on_batch")
        # each connection's secure session
        self._streams: dict[asyncio.StreamWriter, SecureStream] = {}
        self._clock = options.get("clock", time.monotonic)
        self._wall = options.get("wall", time.time)
        self._on_drained = options.get("on_drained")
        self._wants_stamps = options.get("arrival_stamps", False)
        self._handoff = options.get("handoff")
        self._log = log = options.get("log", _no_log)
        # rejected input, logged once per kind per interval (the owner's log, if given)
        given = options.get("rejections")
        self._own_rejections = given is None
        self.rejections = given if given is not None else Rejections(log)
        # bytes held in messages not yet whole, across every connection
        self.buffers = BufferBudget()
        self._new_id = IdMaker(session)
        self._gate = options.get("gate")
        self._key_gate = options.get("key_gate")
        #: What leaves now and what waits to leave packed (net/outgoing.py). Read-only
        #: outside, but for its `on_sent`, told each datagram as it leaves.
        coalesce = options.get("coalesce_drains", False)
        self.outgoing = Outgoing(self._new_id, channel, self._clock, coalesce_drains=coalesce)
        self._routes: dict[Addr, asyncio.StreamWriter] = {}
        # each accepted connection's place among the listener's, told when it is answered
        self._slot_of: dict[asyncio.StreamWriter, Closable] = {}
        #: The TCP connections served or opened now, a task each (read-only outside).
        self.tasks: set[asyncio.Task[None]] = set()
        #: The TCP connections opened to send, bounded per address (read-only outside).
        self.sent_streams = SentStreams()
        self._asking: set[tuple[Addr, str]] = set()  # (where, what) each of those was sent
        #: Accepted connections, bounded so that they leave file descriptors for files (its
        #: `slots`: read-only outside), each read until it ends (net/served_stream.py).
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
        """Bind UDP and TCP on `host`:`port`; return the address bound. Raises OSError.
        With port 0 the system picks the UDP port; when that number is taken for TCP (by
        some connection's end, which UDP's choice cannot see), another one is picked."""
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
            # Read every waiting datagram per wake-up (see DRAIN_BATCH).
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
        for writer in list(self._routes.values()):
            writer.close()
        for task in list(self.tasks):
            task.cancel()
        self._routes.clear()

    def send(self, addr: Addr, message: Message, key: bytes, *, stream: bool = False) -> None:
        """Send `message` to `addr`, for the public key `key` there: on the TCP connection it
        came from if there is one, as a datagram if it fits (unless `stream`), else over a
        new TCP connection. With no key (b"") nothing leaves but a line in the log of
        rejections: a datagram is sealed for its recipient's key, which the owner decides."""
        if self._routes and self.connected(addr):
            self._write(self._routes[addr], message)
            return
        if not key:
            self.no_key += 1
            self.rejections(
                "no key", f"not sent to {_fmt(addr)}: no key known there (#{self.no_key})"
            )
            return
        dest = self._dest
        was: Addr = dest[0]
        if was != addr or dest[1] is not key:
            dest = self._dest = cast(Any, (addr, key))  # (hot path: Any, kept boxed)
        if stream:
            self._spawn(self._connect_and_send(dest, message))
            return
        outgoing = self.outgoing
        if type(message) is Ack:
            outgoing.datagram(b"", dest, message)  # merged with the others waiting, or alone
            return
        if type(message) is Acks:
            for data in outgoing.acks(dest, message):
                outgoing.datagram(data, dest)
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
        self._spawn(self._connect_and_send(dest, message))

    def acks_later(self, owed: Owed) -> None:
        """Ack `owed.replies` to `owed.addr`, for `owed.key`, within ACK_DELAY (net/outgoing.py);
        on the TCP connection they came from, if there is one, now."""
        at, key = owed.addr, owed.key
        if self._routes and self.connected(at):
            self.send(at, Acks(self._new_id(), (*owed.replies,)), key)
        else:
            self.outgoing.acks_later((at, key), owed.replies)

    def connected(self, addr: Addr) -> bool:
        """Whether a TCP connection accepted from `addr` is open (`send` to `addr` uses it)."""
        writer = self._routes.get(addr)
        return writer is not None and not writer.is_closing()

    @contextlib.contextmanager
    def packed(self) -> Iterator[None]:
        """Within it, what is sent waits for its end and then leaves packed, acks merged,
        as what answers one drain of the socket does with `coalesce_drains` (the registry's
        sends held for one group commit: an Ack and the Saved outcome of the same save
        share a datagram)."""
        was = self.outgoing.packed_begins()
        try:
            yield
        finally:
            self.outgoing.packed_ends(was)

    def send_many(self, addrs: Sequence[Addr], keys: Sequence[bytes], message: Message) -> None:
        """Send `message` to each of `addrs`, for the key of the same place in `keys`, as
        `send` would to each, encoding it once. Neither sequence may change afterwards: the
        next call with the same two (a burst's next line) is known for them by identity."""
        data, routes, many = encode(message), self._routes, self._many
        if many[0] is not addrs or many[1] is not keys:  # (none if a key is missing)
            dests = list(zip(addrs, keys, strict=True)) if all(keys) else []
            many = self._many = (addrs, keys, dests)
        dests = many[2]
        if getattr(message, "reply_to", "") or not fits_datagram(data) or len(dests) < len(addrs):
            for addr, key in zip(addrs, keys, strict=True):
                self.send(addr, message, key)
            return
        if not routes and self.outgoing.relay(dests, data):
            return  # waiting in the drain's relay entry
        for dest in dests:
            writer = routes.get(dest[0]) if routes else None
            if writer is not None and not writer.is_closing():
                self._write(writer, message)
            else:
                self.outgoing.datagram(data, dest)

    async def _connect_and_send(self, dest: Dest, message: Message) -> None:
        """Send `message` on a connection of its own to `dest`, served until its answer
        comes or it has been idle for SENT_IDLE_CLOSE (net/served_stream.py); not while as
        many as `sent_streams` allows wait for answers there, nor while one sent it there."""
        addr, key = dest
        if (addr, message.id) in self._asking:
            return  # its answer comes on that connection
        if not self.sent_streams.take(addr[0]):
            self.rejections(
                "sent streams",
                f"not sent to {_fmt(addr)} over TCP now: {self.sent_streams.open_to(addr[0])} "
                f"connections opened there wait for answers (#{self.sent_streams.refused})",
            )
            self.on_stream_end(message.id)
            return
        # from the address bound, as datagrams go: a registry answering a registration
        # that came over TCP takes the connection's source for the peer's address
        local = None if self.address[0] in ("", "0.0.0.0") else (self.address[0], 0)
        self._asking.add((addr, message.id))
        try:
            try:
                connecting = asyncio.open_connection(*addr, local_addr=local)
                reader, writer = await asyncio.wait_for(connecting, 5.0)
            except (OSError, TimeoutError) as exc:
                self._log(f"could not connect to {_fmt(addr)} over TCP: {exc}")
                return
            # Not a route: only what arrives on a connection we accepted is answered on it.
            # Were this one a route, every later datagram-sized message to `addr` (acks
            # included) would travel on it and reach `addr` from a port it does not know.
            try:
                stream = SecureStream(self.channel.static, remote=key, budget=self.buffers)
            except ValueError as exc:
                self._log(f"not sent to {_fmt(addr)} over TCP: {exc}")
                writer.close()
                return
            self._streams[writer] = stream
            self._write(writer, message)
            await ServedStream(self, writer, addr, None, message.id).serve(reader)
        finally:
            self.sent_streams.release(addr[0])
            self._asking.discard((addr, message.id))
            self.on_stream_end(message.id)

    def _write(self, writer: asyncio.StreamWriter, message: Message) -> None:
        if (stream := self._streams.get(writer)) is None:
            return  # the connection is over
        try:
            stream.send(message)
            writer.write(stream.output())
        except (ValueError, ConnectionError, OSError) as exc:
            self._log(f"could not send {type(message).__name__}: {exc}")
            return
        slot = self._slot_of.get(writer)
        if slot is not None:  # an accepted connection, answered: it waits for nothing now
            self.listener.slots.answered(slot)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
