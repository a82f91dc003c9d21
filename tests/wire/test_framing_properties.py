"""Properties of TCP framing: however the stream is cut into reads, StreamDecoder yields the
same messages, and hostile streams give messages or DecodeError only (docs/PROTOCOL.md,
"Transports")."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from wire_strategies import assert_valid_message, messages

from wire import DecodeError, Message, StreamDecoder, decode, encode, encode_frame
from wire.limits import FRAME_HEADER, MAX_FRAME
from wire.messages import Ack, Notice

FAST = settings(max_examples=100, deadline=None)
THOROUGH = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    """Cut `stream` at the given offsets (any order, repeats give empty pieces)."""
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in pairwise(bounds)]


@st.composite
def pieces_of(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=12))
    pieces = split(stream, cuts)
    assert b"".join(pieces) == stream
    return pieces


@dataclass
class Outcome:
    """What a StreamDecoder made of a stream: messages in order, and whether it failed."""

    messages: list[Message] = field(default_factory=list)
    failed: bool = False


def feed_all(pieces: list[bytes], decoder: StreamDecoder | None = None) -> Outcome:
    """Feed pieces one by one; stop at the first DecodeError. Anything else fails the test."""
    decoder = decoder or StreamDecoder()
    outcome = Outcome()
    for piece in pieces:
        try:
            got = decoder.feed(piece)
        except DecodeError as exc:
            str(exc).encode("utf-8")
            outcome.failed = True
            return outcome
        for message in got:
            assert_valid_message(message)
        outcome.messages.extend(got)
    return outcome


def reference_parse(stream: bytes) -> Outcome:
    """The frames in a whole stream, read front to back: a simple restatement of the rules."""
    outcome = Outcome()
    at = 0
    while len(stream) - at >= FRAME_HEADER:
        length = int.from_bytes(stream[at : at + FRAME_HEADER], "big")
        if length > MAX_FRAME:
            outcome.failed = True
            break
        body = stream[at + FRAME_HEADER : at + FRAME_HEADER + length]
        if len(body) < length:
            break  # waiting for the rest
        try:
            outcome.messages.append(decode(body))
        except DecodeError:
            outcome.failed = True
            break
        at += FRAME_HEADER + length
    return outcome


# -- well-formed streams ------------------------------------------------------------------


@FAST
@given(messages)
def test_frame_layout(message: Message) -> None:
    frame = encode_frame(message)
    body = encode(message)
    assert frame[:FRAME_HEADER] == len(body).to_bytes(FRAME_HEADER, "big")
    assert frame[FRAME_HEADER:] == body


@THOROUGH
@given(sent=st.lists(messages, max_size=6), data=st.data())
def test_any_cutting_yields_the_same_messages(sent: list[Message], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(m) for m in sent)
    pieces = data.draw(pieces_of(stream))
    decoder = StreamDecoder()
    received: list[Message] = []
    fed = 0
    for piece in pieces:
        received.extend(decoder.feed(piece))
        fed += len(piece)
        # Nothing is lost or held back: completed frames are out, the rest is pending.
        done = sum(len(encode_frame(m)) for m in received)
        assert decoder.pending == fed - done
        assert received == sent[: len(received)]
    assert received == sent
    assert decoder.pending == 0


@FAST
@given(sent=st.lists(messages, min_size=1, max_size=4))
def test_byte_by_byte(sent: list[Message]) -> None:
    stream = b"".join(encode_frame(m) for m in sent)
    assert feed_all([stream[i : i + 1] for i in range(len(stream))]) == Outcome(sent)
    assert feed_all([stream]) == Outcome(sent)


def test_empty_body_frame_is_a_decode_error() -> None:
    decoder = StreamDecoder()
    with pytest.raises(DecodeError):
        decoder.feed(b"\x00\x00\x00\x00")


def test_largest_frame_is_accepted() -> None:
    overhead = len(encode(Notice(id="n", text="")))
    message = Notice(id="n", text="x" * (MAX_FRAME - overhead))
    frame = encode_frame(message)
    assert len(frame) == FRAME_HEADER + MAX_FRAME
    decoder = StreamDecoder()
    assert decoder.feed(frame[:FRAME_HEADER]) == []
    assert decoder.feed(frame[FRAME_HEADER:]) == [message]
    assert decoder.pending == 0


def test_oversized_body_cannot_be_framed() -> None:
    overhead = len(encode(Notice(id="n", text="")))
    message = Notice(id="n", text="x" * (MAX_FRAME - overhead + 1))
    assert len(encode(message)) == MAX_FRAME + 1
    with pytest.raises(ValueError):
        encode_frame(message)


# -- hostile streams ----------------------------------------------------------------------


@FAST
@given(
    length=st.integers(MAX_FRAME + 1, 2**32 - 1),
    before=st.lists(messages, max_size=3),
    bytewise=st.booleans(),
)
@example(length=MAX_FRAME + 1, before=[], bytewise=True)
@example(length=2**32 - 1, before=[], bytewise=False)
def test_oversized_header_refused_at_once(
    length: int, before: list[Message], bytewise: bool
) -> None:
    decoder = StreamDecoder()
    for message in before:
        assert decoder.feed(encode_frame(message)) == [message]
    header = length.to_bytes(FRAME_HEADER, "big")
    if bytewise:
        for i in range(FRAME_HEADER - 1):
            assert decoder.feed(header[i : i + 1]) == []
        with pytest.raises(DecodeError):
            decoder.feed(header[-1:])
    else:
        with pytest.raises(DecodeError):
            decoder.feed(header)  # the body is never sent


def test_header_at_the_limit_waits_for_its_body() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(MAX_FRAME.to_bytes(FRAME_HEADER, "big")) == []
    assert decoder.pending == FRAME_HEADER


def test_smaller_limit_is_honoured() -> None:
    frame = encode_frame(Notice(id="n", text="x" * 100))
    with pytest.raises(DecodeError):
        StreamDecoder(max_frame=50).feed(frame[:FRAME_HEADER])


@st.composite
def hostile_streams(draw: st.DrawFn) -> bytes:
    """Streams mixing valid frames, frames with junk bodies, and raw junk."""
    parts = draw(
        st.lists(
            st.one_of(
                messages.map(encode_frame),
                st.binary(max_size=40).map(lambda b: len(b).to_bytes(FRAME_HEADER, "big") + b),
                st.binary(max_size=12),
                st.integers(0, 2**32 - 1).map(lambda n: n.to_bytes(FRAME_HEADER, "big")),
            ),
            max_size=6,
        )
    )
    return b"".join(parts)


@THOROUGH
@given(stream=st.one_of(st.binary(max_size=200), hostile_streams()), data=st.data())
def test_hostile_stream_gives_messages_or_decode_error(stream: bytes, data: st.DataObject) -> None:
    pieces = data.draw(pieces_of(stream))
    got = feed_all(pieces)
    whole = reference_parse(stream)
    event(f"failed={whole.failed} messages={len(whole.messages) > 0}")
    # A failure happens exactly when the whole stream holds a bad frame; the messages
    # before it may or may not have come out, depending on how the reads were cut.
    assert got.failed == whole.failed
    if got.failed:
        assert got.messages == whole.messages[: len(got.messages)]
    else:
        assert got.messages == whole.messages


def refused(body: bytes) -> bool:
    try:
        decode(body)
    except DecodeError:
        return True
    return False


bad_frames = st.one_of(
    st.integers(MAX_FRAME + 1, 2**32 - 1).map(lambda n: n.to_bytes(FRAME_HEADER, "big")),
    st.binary(max_size=40).filter(refused).map(lambda b: len(b).to_bytes(FRAME_HEADER, "big") + b),
)


@FAST
@given(
    before=st.lists(messages, max_size=3),
    bad=bad_frames,
    more=st.lists(st.binary(max_size=20), max_size=4),
    data=st.data(),
)
def test_broken_stream_stays_broken(
    before: list[Message], bad: bytes, more: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(encode_frame(m) for m in before) + bad
    decoder = StreamDecoder()
    got = feed_all(data.draw(pieces_of(stream)), decoder)
    assert got.failed
    assert got.messages == before[: len(got.messages)]
    for piece in [*more, b"", encode_frame(Ack(id="a", reply_to="b"))]:
        with pytest.raises(DecodeError):
            decoder.feed(piece)
