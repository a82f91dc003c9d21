"""The secure channel of one TCP connection, sans-IO (docs/PROTOCOL.md, "The secure channel").

Two frames of a Noise IK handshake (the side that connected sends the initiation, with an
empty payload: IK's first one can be replayed), then Noise transport messages under the
nonces 0, 1, 2, ... each way; one that does not open closes the connection.

A message travels as records, each a frame whose plaintext is a flag byte (MORE, LAST,
or DATA: raw bytes outside any message, for `feed_with_data` alone) and a part of it. So
nothing larger than a record is held unauthenticated, nor over MAX_HANDSHAKE_FRAME before
the handshake. All connections' messages not yet whole are held within a `BufferBudget`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import KEY_ANSWER, KEY_REQUEST, KEY_REQUEST_SIZE, PROLOGUE
from secure.noise import CHANNEL_PROTOCOL, CipherState, Handshake, NoiseError, public_bytes
from wire.codec import DecodeError, OtherVersion, decode, encode
from wire.limits import FRAME_HEADER, MAX_FRAME
from wire.messages import Message

#: Bytes the session adds to each frame's body (the Poly1305 tag).
TAG = 16
#: Largest frame on the wire: one Noise message.
MAX_RECORD = 65_535
#: Bytes of a message each record carries, after its flag byte.
RECORD_DATA = MAX_RECORD - TAG - 1
#: The records' flags (see the module).
MORE, LAST, DATA = b"\x01", b"\x00", b"\x02"
#: Largest frame before the handshake is over: an initiation is 96 bytes, a response 48, a
#: request for our key 64, and a request in clear of an older version fits a datagram.
MAX_HANDSHAKE_FRAME = 2048
#: Bytes all connections of a process may hold at once in messages not yet whole: eight
#: maximal messages.
BUFFER_BUDGET = 32 * 1024 * 1024


class BufferBudget:
    """The bytes each connection holds, and their total against `budget` (positive): over
    it, the connection holding most is dropped (an honest message completes within moments)."""

    def __init__(self, budget: int = BUFFER_BUDGET) -> None:
        if budget <= 0:
            raise ValueError("the budget must be positive")
        self.budget = budget
        self.total = 0
        self._held: dict[Hashable, int] = {}
        self.dropped = 0  #: connections named for dropping so far

    def hold(self, conn: Hashable, size: int) -> list[Hashable]:
        """`conn` now holds `size` bytes. Returns the connections to drop to come back
        within the budget, those holding most first (`conn` may be one of them); they
        hold nothing from now on."""
        self.total += size - self._held.get(conn, 0)
        if size:
            self._held[conn] = size
        else:
            self._held.pop(conn, None)
        drop: list[Hashable] = []
        while self.total > self.budget:
            largest = max(self._held, key=self._held.__getitem__)
            self.total -= self._held.pop(largest)
            self.dropped += 1
            drop.append(largest)
        return drop

    def held(self, conn: Hashable) -> int:
        return self._held.get(conn, 0)


class ClearFrame(DecodeError):
    """The first frame is a message in clear (a version from before the secure channel), `body`."""

    def __init__(self, body: bytes) -> None:
        super().__init__("a frame in clear")
        self.body = body


class OverBudget(DecodeError):
    """Over the budget, this connection holds most: it is dropped."""


#: The first frame that asks for the key in clear, as a KEY_REQUEST datagram does.
KEY_REQUEST_FRAME = bytes([KEY_REQUEST]) + bytes(KEY_REQUEST_SIZE - 1)


class KeyGiven(DecodeError):
    """The connection asked for our key in clear; the answer is in `output()`, and the
    connection is over."""


class SecureStream:
    """One connection's session: `feed` the bytes read, for the messages they complete;
    `send` a message; take the bytes to write from `output`. The side that connects passes
    `remote` (the key it expects) and writes `output()` at once. DecodeError for anything
    not of this session: the connection is to be closed. Over `budget`, `feed` raises
    OverBudget if this session holds most, else that one's `on_over_budget` is called."""

    def __init__(
        self,
        static: X25519PrivateKey,
        *,
        remote: bytes | None = None,
        budget: BufferBudget | None = None,
    ) -> None:
        self._budget = budget
        self.on_over_budget: Callable[[], None] = lambda: None  #: (see the class)
        self._buffer = bytearray()
        self._out = bytearray()
        # a data record being sealed: made at the first data sent, as most connections
        # send none (a stranger's thousands would hold 64 KiB each)
        self._plain: bytearray | None = None
        self._waiting: list[bytes] = []
        self._sending: CipherState | None = None
        self._receiving: CipherState | None = None
        self._sent = self._received = 0
        self._broken = False
        self._parts: list[bytes] = []  # records of a message not yet whole
        self._parts_size = 0
        initiator = remote is not None
        self._handshake: Handshake | None = Handshake(
            "IK", initiator=initiator, prologue=PROLOGUE, static=static, remote_static=remote
        )
        #: The other side's static key, once the handshake has shown it.
        self.remote_key: bytes | None = remote if initiator else None
        self._public = public_bytes(static)
        if initiator:  # ValueError for a key no handshake can use (a low-order point)
            try:
                self._out += frame(self._handshake.write_message(b""))
            except NoiseError:
                raise ValueError("a key no handshake can use") from None

    @property
    def ready(self) -> bool:  # the handshake is over
        return self._sending is not None

    @property
    def pending(self) -> int:
        """Bytes held of a message or a frame not yet whole."""
        return len(self._buffer) + self._parts_size

    def send(self, message: Message) -> None:
        """Queue `message`, sent once the handshake is over; ValueError over MAX_FRAME."""
        self.send_encoded(encode(message), type(message).__name__)

    def send_encoded(self, body: bytes, what: str = "a message") -> None:
        """Queue a message already encoded (`wire.codec.encode`), as `send` does."""
        if len(body) > MAX_FRAME:
            raise ValueError(f"{what} of {len(body)} bytes, over {MAX_FRAME}")
        if self._sending is None:
            self._waiting.append(body)
        else:
            self._seal(body)

    def seal_data(self, data: bytes | bytearray | memoryview) -> bytearray:
        """The bytes to write now: what `output` held, then `data` as DATA records, sealed in
        place in one new buffer. ValueError before the handshake is over."""
        sending = self._sending
        if sending is None:
            raise ValueError("data before the handshake is over")
        view = memoryview(data)
        records = -(-len(view) // RECORD_DATA)
        at = len(self._out)
        out = bytearray(at + len(view) + records * (FRAME_HEADER + 1 + TAG))
        out[:at] = self._out
        self._out.clear()
        if self._plain is None:
            self._plain = bytearray(DATA + bytes(RECORD_DATA))
        plain = memoryview(self._plain)  # the flag, then each record's bytes in turn
        with memoryview(out) as into:
            for start in range(0, len(view), RECORD_DATA):
                part = view[start : start + RECORD_DATA]
                plain[1 : 1 + len(part)] = part
                size = 1 + len(part) + TAG
                into[at : at + FRAME_HEADER] = size.to_bytes(FRAME_HEADER, "big")
                at += FRAME_HEADER
                sending.encrypt_into(self._sent, b"", plain[: size - TAG], into[at : at + size])
                self._sent += 1
                at += size
        return out

    def output(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def feed(self, data: bytes) -> list[Message]:
        """The messages received bytes complete, in order; a data record is a DecodeError."""
        items = self.feed_with_data(data)
        messages = [item for item in items if not isinstance(item, memoryview)]
        if len(messages) < len(items):
            self.close()
            raise DecodeError("a data record on a connection that takes none")
        return messages

    def feed_with_data(self, data: bytes | bytearray | memoryview) -> list[Message | memoryview]:
        """The messages received bytes complete and the bytes of each data record (a view
        of its plaintext, never of `data`), in order. Only a frame not yet whole is kept:
        `data` may be a buffer the caller reads into again."""
        if self._broken:
            raise DecodeError("stream already failed")
        items: list[Message | memoryview] = []
        try:
            with memoryview(data) as view:
                rest = self._complete(view, items) if self._buffer else view
                used = self._frames(rest, items)
                self._buffer += rest[used:]
                del rest
        except DecodeError:
            self.close()
            raise
        if self._budget is not None:
            self._account(self._budget)
        return items

    def _complete(self, view: memoryview, items: list[Message | memoryview]) -> memoryview:
        """Complete the frame held from the start of `view`; the rest of `view`."""
        held = self._buffer
        if len(held) < FRAME_HEADER:
            take = FRAME_HEADER - len(held)
            held += view[:take]
            view = view[take:]
            if len(held) < FRAME_HEADER:
                return view
        take = FRAME_HEADER + self._length(held) - len(held)
        held += view[:take]
        if len(held) - FRAME_HEADER < self._length(held):
            return view[take:]
        item = self._frame_received(memoryview(bytes(held))[FRAME_HEADER:])
        held.clear()
        if item is not None:
            items.append(item)
        return view[take:]

    def _frames(self, view: memoryview, items: list[Message | memoryview]) -> int:
        """Open the whole frames at the start of `view` into `items`; the bytes they took."""
        at = 0
        while len(view) - at >= FRAME_HEADER:
            end = at + FRAME_HEADER + self._length(view[at:])
            if len(view) < end:
                break
            item = self._frame_received(view[at + FRAME_HEADER : end])
            at = end
            if item is not None:
                items.append(item)
        return at

    def _length(self, frame: bytes | bytearray | memoryview) -> int:
        """The length in `frame`'s header; DecodeError when too large to be read."""
        length = int.from_bytes(frame[:FRAME_HEADER], "big")
        if length > MAX_RECORD:
            raise DecodeError(f"frame of {length} bytes, over {MAX_RECORD}")
        if self._handshake is not None and length > MAX_HANDSHAKE_FRAME:
            raise DecodeError(f"a first frame of {length} bytes, over {MAX_HANDSHAKE_FRAME}")
        return length

    def close(self) -> None:
        """Nothing more is read or counted against the budget."""
        self._broken = True
        if self._budget is not None:
            self._budget.hold(self, 0)

    def _account(self, budget: BufferBudget) -> None:
        mine = False
        for stream in budget.hold(self, self.pending):
            if stream is self:
                mine = True
            elif isinstance(stream, SecureStream):
                stream._broken = True
                stream.on_over_budget()
        if mine:
            self._broken = True
            raise OverBudget(
                f"held {self.pending} bytes of a message, the most of all, when connections "
                f"held more than {budget.budget} bytes in all"
            )

    def _frame_received(self, body: memoryview) -> Message | memoryview | None:
        """What a whole frame completes: a message, a data record's bytes, or nothing yet."""
        handshake = self._handshake
        if handshake is not None:
            self._handshake_frame(handshake, bytes(body))
            return None
        assert self._receiving is not None
        try:
            plain = self._receiving.decrypt(self._received, b"", body)
        except NoiseError:
            raise DecodeError("a frame that does not open") from None
        self._received += 1
        flag = plain[:1]
        if flag == DATA:
            if self._parts:
                raise DecodeError("a data record inside a message")
            return memoryview(plain)[1:]
        if flag not in (MORE, LAST):
            raise DecodeError("a record of no known kind")
        part = plain[1:]
        self._parts_size += len(part)
        if self._parts_size > MAX_FRAME:
            raise DecodeError(f"a message over {MAX_FRAME} bytes")
        self._parts.append(part)
        if flag == MORE:
            return None
        whole = b"".join(self._parts)
        self._parts, self._parts_size = [], 0
        return decode(whole)

    def _handshake_frame(self, handshake: Handshake, body: bytes) -> None:
        if body == KEY_REQUEST_FRAME and self.remote_key is None:
            self._out += frame(bytes([KEY_ANSWER]) + self._public + CHANNEL_PROTOCOL)
            raise KeyGiven("the key was asked for")
        try:
            handshake.read_message(body)
            if not handshake.complete:  # the responder, after the initiation
                self._out += frame(handshake.write_message(b""))
        except NoiseError:
            if body[:1] in (b"{", b"[") and self.remote_key is None:
                raise ClearFrame(body) from None
            raise DecodeError("the secure handshake failed") from None
        self.remote_key = handshake.remote_static
        self._sending, self._receiving = handshake.split()
        self._handshake = None
        for waiting in self._waiting:
            self._seal(waiting)
        self._waiting.clear()

    def _seal(self, body: bytes) -> None:
        assert self._sending is not None
        for start in range(0, max(len(body), 1), RECORD_DATA):
            end = start + RECORD_DATA
            record = (MORE if end < len(body) else LAST) + body[start:end]
            self._out += frame(self._sending.encrypt(self._sent, b"", record))
            self._sent += 1


def frame(body: bytes) -> bytes:
    """`body` in a frame: its 4-byte big-endian length, then itself."""
    return len(body).to_bytes(FRAME_HEADER, "big") + body


def key_answer(body: bytes) -> bytes | None:
    """The key a KEY_REQUEST_FRAME answer holds, or None (not one). Raises OtherVersion for
    one naming another protocol than CHANNEL_PROTOCOL, or none: another ChatApp's."""
    if body[:1] != bytes([KEY_ANSWER]) or len(body) < 33:
        return None
    if body[33:] != CHANNEL_PROTOCOL:
        raise OtherVersion("a key answer of another protocol", "KeyAnswer", "")
    return body[1:33]
