"""One TCP connection of an `Endpoint` (net/endpoint.py), served: its frames read, opened
(`secure.stream`) and handed over until it ends; one opened (`dial`, as every client opens
one) to send a message too long for a datagram alone, which waits for its answer: at most
SENT_PER_ADDRESS per address, SENT_LIMIT in all; past that the message waits for its retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import os_reason
from net.listener import Closable, fmt_addr
from secure.stream import BufferBudget, ClearFrame, KeyGiven, OverBudget, SecureStream, frame
from wire.codec import DecodeError, OtherVersion, clear_request, encode
from wire.messages import VERSION_REFUSAL, Acks, Message, Refused
from wire.refusals import RefusalCode
from wire.version import wire_refusal

if TYPE_CHECKING:
    from net.endpoint import Addr, Endpoint
    from net.outgoing import Dest

#: Seconds a TCP connection we open has to be accepted.
CONNECT_WAIT = 5.0
#: Seconds a TCP connection may sit idle between frames before we close it.
IDLE_CLOSE = 60.0
#: ...one we made to send one message too long for a datagram: closed once its answer is
#: in, else once this long without a byte (in a join storm each step waits its turn).
SENT_IDLE_CLOSE = 15.0
#: Seconds a message may take from its first byte to its last (and an accepted connection
#: to its first frame): MAX_FRAME takes well under a second on a LAN, and a sender that
#: never finishes one (slowloris) would otherwise hold its place for ever.
FRAME_DEADLINE = 10.0
#: Bytes read from a TCP connection at a time.
READ_CHUNK = 64 * 1024
#: Connections opened to send to one IP address at once: a LAN machine runs a few peers.
SENT_PER_ADDRESS = 32
#: Connections opened to send at once in all.
SENT_LIMIT = 1024


class Handed(Struct, frozen=True):
    """A TCP connection taken over by the type of its first message: that message, its
    decoder, the streams, and any further messages read with it."""

    first: Message
    decoder: SecureStream
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    more: Sequence[Message] = ()


#: Owns a handed connection until it ends.
Handoff = Callable[[Handed], Awaitable[None]]
Dialed = tuple[asyncio.StreamReader, asyncio.StreamWriter, SecureStream]


class ServedStream:
    """One connection of `endpoint`, from `addr`, served until it ends (`serve`), closed as
    the constants say. `slot`: an accepted connection's place among the listener's. One we
    made (`dial`) is given its session and the id of the message it sends: it ends with that
    message's answer. An accepted one it has a message from is the endpoint's route to `addr`."""

    def __init__(
        self,
        endpoint: Endpoint,
        writer: asyncio.StreamWriter,
        addr: Addr,
        slot: Closable | None = None,
        ours: tuple[SecureStream, str] | None = None,
    ) -> None:
        self._endpoint = endpoint
        self.writer = writer
        self._addr = addr
        self._slot = slot
        static, budget = endpoint.channel.static, endpoint.buffers
        # accepted: the other side begins
        decoder, self._answer_to = ours or (SecureStream(static, budget=budget), "")
        # not a method: a cycle would keep the decoder's buffers until the collector runs
        decoder.on_over_budget = lambda: _over_budget(endpoint, writer, addr)
        self._decoder = decoder
        self._first = slot is not None  # an accepted one's first message may be handed off
        self._heard = False  # whether the handshake of a connection of ours was answered
        self._over = False  # closed, or handed to a session that closes it: `write` sends nothing

    def write(self, message: Message) -> None:
        """Send `message` on the connection (nothing once it is over or handed off)."""
        if self._over:
            return
        try:
            self._decoder.send(message)
            self.writer.write(self._decoder.output())
        except (ValueError, ConnectionError, OSError) as exc:
            self._endpoint._log(f"could not send {type(message).__name__}: {exc}")
            return
        if self._slot is not None:
            self._endpoint.listener.slots.answered(self._slot)

    async def serve(self, reader: asyncio.StreamReader) -> None:
        idle = SENT_IDLE_CLOSE if self._answer_to else IDLE_CLOSE
        # an accepted connection has FRAME_DEADLINE for its first frame
        frames = Frames(self._decoder, reader, idle, begun=self._slot is not None)
        frames.patient = bool(self._answer_to)
        try:
            while await self._one_read(frames, reader):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self._closed()

    async def _one_read(self, frames: Frames, reader: asyncio.StreamReader) -> bool:
        """Read what comes next, and hand over what it completes: whether to go on."""
        try:
            messages = await frames.read()
        except (LateFrame, DecodeError) as exc:
            self._refused(exc)
            return False
        if messages is None:
            return False
        output = self._decoder.output()  # the handshake's answer, what waited for it
        if output and not self.writer.is_closing():
            # (asyncio's transport drops a write once closing; uvloop's raises)
            self.writer.write(output)
        slot, slots = self._slot, self._endpoint.listener.slots
        key = self._decoder.remote_key
        if self._answer_to and not self._heard and self._decoder.ready and key is not None:
            # a connection of ours, its handshake answered: the other side runs, though
            # its answer (a whole table, from a busy registry) may take a while yet
            self._heard = True
            self._endpoint.on_handshake(self._addr, key)
        if slot is not None and self._decoder.ready:
            slots.shown_key(slot)
        if slot is not None and messages:
            slots.heard(slot)
        return await self._hand_over(messages, reader)

    def _refused(self, exc: LateFrame | DecodeError) -> None:
        """Close on what does not open, unanswered; a version from before the secure channel
        is told so in clear."""
        writer, decoder, endpoint = self.writer, self._decoder, self._endpoint
        # (a write once closed: dropped by asyncio's transport, raised by uvloop's)
        answer = writer.write if not writer.is_closing() else lambda _: None
        if isinstance(exc, KeyGiven):
            answer(decoder.output())  # asked for our key in clear: given
        elif isinstance(exc, OverBudget):
            _over_budget(endpoint, writer, self._addr)
        elif isinstance(exc, LateFrame):
            endpoint.slow_frames += 1
            endpoint.rejections("slow frame", f"{self._closing(endpoint.slow_frames)}{exc}")
        else:
            endpoint.bad_frames += 1
            if isinstance(exc, ClearFrame):
                refused = clear_refusal(endpoint, exc.body, self._addr)
                if refused is not None:
                    answer(frame(encode(refused)))
            else:  # not answered: a frame that does not open gets no oracle
                closing = self._closing(endpoint.bad_frames)
                endpoint.rejections("bad frame", f"{closing}{why_bad(exc)}")

    def _closing(self, count: int) -> str:
        return f"closed TCP connection from {fmt_addr(self._addr)} (#{count}): "

    async def _hand_over(self, messages: list[Message], reader: asyncio.StreamReader) -> bool:
        """Hand each of `messages` to the endpoint's owner, or the connection to the handoff
        its first message names; whether to read on."""
        endpoint, addr = self._endpoint, self._addr
        handoff = endpoint._handoff
        answered = False
        for index, message in enumerate(messages):
            if self._first and handoff and type(message).__name__ in handoff[0]:
                if self._slot is not None:
                    endpoint.listener.slots.settle(self._slot)
                # its session writes, and closes the stream (and its budget), from now
                self._over = True
                more = messages[index + 1 :]
                await handoff[1](Handed(message, self._decoder, reader, self.writer, more))
                return False
            self._first = False
            if self._slot is not None:
                endpoint._routes[addr] = self
            if endpoint._gate is not None and not endpoint._gate(addr):
                continue
            assert self._decoder.remote_key is not None  # a message follows the handshake
            endpoint._on_message(message, addr, self._decoder.remote_key)
            if self._answer_to and _answers(message, self._answer_to):
                answered = True
        # once the answer is in, what came with it is handled; nothing else is awaited
        return not answered

    def _closed(self) -> None:
        endpoint, addr = self._endpoint, self._addr
        if not self._over:  # (else handed)
            self._decoder.close()
        self._over = True
        if endpoint._routes.get(addr) is self:
            del endpoint._routes[addr]
        self.writer.close()


async def send_alone(endpoint: Endpoint, dest: Dest, message: Message) -> None:
    """Send `message` on a connection of its own to `dest`, served until its answer comes
    or it has been idle for SENT_IDLE_CLOSE; not beyond the endpoint's `sent_streams`."""
    addr, key = dest
    sent = endpoint.sent_streams
    if (addr, message.id) in sent.asking:
        return  # its answer comes on that connection
    if not sent.take(addr, message.id):
        endpoint.rejections(
            "sent streams",
            f"not sent to {fmt_addr(addr)} over TCP now: {sent.open_to(addr[0])} "
            f"connections opened there wait for answers (#{sent.refused})",
        )
        endpoint.on_stream_end(message.id)
        return
    try:
        try:
            # from the address bound, as datagrams go: a registry answering a registration
            # that came over TCP takes the connection's source for the peer's address
            static, local = endpoint.channel.static, endpoint.address[0]
            reader, writer, stream = await dial(addr, key, static, local, endpoint.buffers)
        except (OSError, TimeoutError) as exc:
            endpoint._log(f"could not connect to {fmt_addr(addr)} over TCP: {exc}")
            return
        except ValueError as exc:
            endpoint._log(f"not sent to {fmt_addr(addr)} over TCP: {exc}")
            return
        # Not a route: were it one, every later datagram-sized message to `addr` would
        # travel on it and reach `addr` from a port it does not know.
        served = ServedStream(endpoint, writer, addr, None, (stream, message.id))
        served.write(message)
        await served.serve(reader)
    finally:
        sent.release(addr, message.id)
        endpoint.on_stream_end(message.id)


async def connect(addr: Addr, local: str = "") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to `addr`, from the address `local` ("" or 0.0.0.0: any). Raises
    OSError, or TimeoutError past CONNECT_WAIT (`why_not` says which)."""
    bind = None if local in ("", "0.0.0.0") else (local, 0)
    return await asyncio.wait_for(asyncio.open_connection(*addr, local_addr=bind), CONNECT_WAIT)


async def dial(
    addr: Addr,
    key: bytes,
    static: X25519PrivateKey,
    local: str = "",
    budget: BufferBudget | None = None,
) -> Dialed:
    """`connect`, and the secure channel with `key` (expected at `addr`) begun on it under
    `static`. ValueError, before connecting, for a key no handshake can use."""
    stream = SecureStream(static, remote=key, budget=budget)
    reader, writer = await connect(addr, local)
    writer.write(stream.output())
    return reader, writer, stream


def why_not(exc: BaseException) -> str:
    return "no answer" if isinstance(exc, TimeoutError) else os_reason(exc)


def clear_refusal(endpoint: Endpoint, data: bytes, addr: Addr) -> Refused | None:
    """The answer, in clear, to a request in clear to `endpoint`: versions differ (None for
    anything else). Logged as bad input is."""
    request = clear_request(data)
    count = endpoint.bad_datagrams + endpoint.bad_frames
    what = f"a {request[0]}" if request is not None else "a message"
    endpoint.rejections(
        "in clear",
        f"dropped {what} in clear from {fmt_addr(addr)} (#{count}): a version of ChatApp "
        "from before the secure channel?",
    )
    if request is None:
        return None
    _, request_id, wire = request
    reason = wire_refusal(wire, "peer") if wire else VERSION_REFUSAL
    return Refused(endpoint._new_id(), request_id, reason, RefusalCode.VERSION)


def _over_budget(endpoint: Endpoint, writer: asyncio.StreamWriter, addr: Addr) -> None:
    endpoint.rejections(
        "over budget",
        f"closed the TCP connection holding most ({fmt_addr(addr)}; "
        f"#{endpoint.buffers.dropped}): connections held more than "
        f"{endpoint.buffers.budget // (1024 * 1024)} MiB of messages not yet whole",
    )
    writer.close()


def _answers(message: Message, msg_id: str) -> bool:
    if isinstance(message, Acks):
        return msg_id in message.replies
    return getattr(message, "reply_to", None) == msg_id


class LateFrame(Exception):
    """A frame begun not whole within FRAME_DEADLINE."""


class Frames:
    """The messages of a connection, read through `decoder`: a frame begun (`begun`: one is
    already) has FRAME_DEADLINE seconds to be whole (`patient`, past the handshake: while
    bytes come), the silence between reads `idle` seconds (None: for ever)."""

    patient = False

    def __init__(
        self, decoder: SecureStream, reader: asyncio.StreamReader, idle: float | None, begun: bool
    ) -> None:
        self._decoder = decoder
        self._reader = reader
        self._idle = idle
        self._clock = asyncio.get_running_loop().time
        self._began: float | None = self._clock() if begun else None

    async def read(self) -> list[Message] | None:
        """The messages whole after the next read; None once the other side has closed or
        been silent `idle` seconds. Raises LateFrame, what `decoder.feed` raises, OSError."""
        if self._began is None:
            wait = self._idle
        else:  # FRAME_DEADLINE as it is now: tests shorten it
            wait = max(0.0, self._began + FRAME_DEADLINE - self._clock())
        try:
            data = await asyncio.wait_for(self._reader.read(READ_CHUNK), wait)
        except TimeoutError:
            if self._began is None:
                return None
            raise LateFrame(f"no whole frame within {FRAME_DEADLINE:g} s") from None
        if not data:
            return None
        messages = self._decoder.feed(data)
        if not self._decoder.pending or (self.patient and self._decoder.ready):
            self._began = None
        elif self._began is None or messages:
            self._began = self._clock()  # a frame began in this read
        return messages


def why_bad(exc: DecodeError) -> str:
    if isinstance(exc, OtherVersion):
        return f"{exc} (another version of ChatApp?)"
    return str(exc)


class SentStreams:
    """The connections an endpoint opened to send a message and has not closed yet: each
    one's address and the id of the message it sent (`asking`, read-only outside)."""

    def __init__(self, limit: int = SENT_LIMIT, per_address: int = SENT_PER_ADDRESS) -> None:
        self.limit = limit
        self.per_address = per_address
        self.asking: set[tuple[tuple[str, int], str]] = set()
        #: connections not opened, at a limit
        self.refused = 0

    def take(self, addr: tuple[str, int], msg_id: str) -> bool:
        """Count a connection about to be opened to `addr` to send `msg_id`; False (counted)
        at a limit."""
        if self.open_to(addr[0]) >= self.per_address or len(self.asking) >= self.limit:
            self.refused += 1
            return False
        self.asking.add((addr, msg_id))
        return True

    def release(self, addr: tuple[str, int], msg_id: str) -> None:
        """A connection `take` counted is closed (or was never made)."""
        self.asking.discard((addr, msg_id))

    def open_to(self, ip: str) -> int:
        # (counted, SENT_LIMIT at most: only a message too long for a datagram opens one)
        return sum(at[0] == ip for at, _ in self.asking)
