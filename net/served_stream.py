"""One TCP connection of an `Endpoint` (net/endpoint.py), served: its frames read, opened
(`secure.stream`) and handed over until it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct

from net.stream_slots import Closable
from secure.stream import ClearFrame, KeyGiven, OverBudget, SecureStream, frame
from wire.codec import encode
from wire.errors import DecodeError, OtherVersion
from wire.messages import Acks, Message

if TYPE_CHECKING:
    from net.endpoint import Addr, Endpoint

#: Seconds a TCP connection may sit idle between frames before we close it.
IDLE_CLOSE = 60.0
#: ...one we made to send one message too long for a datagram: closed once its answer is
#: in, else once this long without a byte (an answer on its way is read to its end; in a
#: join storm the connection, its handshake and the request each wait their turn).
SENT_IDLE_CLOSE = 15.0
#: Seconds a message may take from its first byte to its last (and an accepted connection
#: to its first frame): MAX_FRAME takes well under a second on a LAN, and a sender that
#: never finishes one (slowloris) would otherwise hold its place for ever.
FRAME_DEADLINE = 10.0
#: Bytes read from a TCP connection at a time.
READ_CHUNK = 64 * 1024


class Handed(Struct, frozen=True):
    """A TCP connection taken over by the type of its first message: that message, the
    decoder already used on it, the streams, and any further messages read with it."""

    first: Message
    decoder: SecureStream
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    more: Sequence[Message] = ()


#: Owns a handed connection until it ends.
Handoff = Callable[[Handed], Awaitable[None]]


class ServedStream:
    """One connection of `endpoint`, from `addr`, served until it ends (`serve`), closed as
    the constants say. `slot`: an accepted connection's place among the listener's (None
    for one we made). One we made to send the message `answer_to` ends with its answer.
    What it holds of a message not yet whole counts against the endpoint's `buffers`."""

    def __init__(
        self,
        endpoint: Endpoint,
        writer: asyncio.StreamWriter,
        addr: Addr,
        slot: Closable | None = None,
        answer_to: str = "",
    ) -> None:
        self._endpoint = endpoint
        self._writer = writer
        self._addr = addr
        self._slot = slot
        self._answer_to = answer_to
        decoder = endpoint._streams.get(writer)
        if decoder is None:  # accepted: the other side begins the handshake
            decoder = SecureStream(endpoint.channel.static, budget=endpoint.buffers)
            endpoint._streams[writer] = decoder
        # not a method: a cycle would keep the decoder's buffers until the collector runs
        decoder.on_over_budget = lambda: _over_budget(endpoint, writer, addr)
        self._decoder = decoder
        if slot is not None:
            endpoint._slot_of[writer] = slot
        # no message yet on an accepted connection: its first may be handed off
        self._first = slot is not None
        self._heard = False  # whether the handshake of a connection of ours was answered
        self._handed = False  # to the handoff's session, which closes it from then on

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
        if output and not self._writer.is_closing():
            # (asyncio's transport drops a write once closing; uvloop's raises)
            self._writer.write(output)
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
        is told so in clear, if it asked."""
        writer, decoder, endpoint = self._writer, self._decoder, self._endpoint
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
                refused = endpoint._clear_refusal(exc.body, self._addr)
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
                await self._hand_off(message, reader, messages[index + 1 :])
                return False
            self._first = False
            if self._slot is not None:
                endpoint._routes[addr] = self._writer
            if endpoint._gate is not None and not endpoint._gate(addr):
                continue
            assert self._decoder.remote_key is not None  # a message follows the handshake
            endpoint._on_message(message, addr, self._decoder.remote_key)
            if self._answer_to and _answers(message, self._answer_to):
                answered = True
        # once the answer is in, what came with it is handled; nothing else is awaited
        return not answered

    async def _hand_off(
        self, first: Message, reader: asyncio.StreamReader, more: list[Message]
    ) -> None:
        endpoint, writer = self._endpoint, self._writer
        endpoint._slot_of.pop(writer, None)  # its own session writes from now
        if self._slot is not None:
            endpoint.listener.slots.settle(self._slot)
        endpoint._streams.pop(writer, None)
        self._handed = True  # its session closes the stream (and its budget)
        assert endpoint._handoff is not None
        await endpoint._handoff[1](Handed(first, self._decoder, reader, writer, more))

    def _closed(self) -> None:
        endpoint, writer, addr = self._endpoint, self._writer, self._addr
        if not self._handed:
            self._decoder.close()
        endpoint._slot_of.pop(writer, None)
        endpoint._streams.pop(writer, None)
        if endpoint._routes.get(addr) is writer:
            del endpoint._routes[addr]
        writer.close()


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


def fmt_addr(addr: Addr) -> str:
    return f"{addr[0]}:{addr[1]}"


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
