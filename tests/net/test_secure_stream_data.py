"""Data records of the secure session: a file's bytes outside any message, each record
sealed, in order, refused when replayed, altered, reordered or cut, and taken only where
the owner asked for them."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from secure.channel import PROLOGUE
from secure.noise import Handshake, public_bytes
from secure.stream import DATA, MAX_RECORD, MORE, RECORD_DATA, SecureStream
from tests.hypothesis_profiles import examples
from tests.net.test_secure_stream import SERVER, pair  # the connector sends the data here
from wire.codec import DecodeError
from wire.limits import FRAME_HEADER
from wire.messages import Chat, Message


def frames(data: bytes) -> list[bytes]:
    """`data` cut into its frames, each with its header."""
    out, at = [], 0
    while at < len(data):
        end = at + FRAME_HEADER + int.from_bytes(data[at : at + FRAME_HEADER], "big")
        out.append(data[at:end])
        at = end
    return out


def framed(body: bytes) -> bytes:
    """`body` as one frame, its length in front."""
    return len(body).to_bytes(FRAME_HEADER, "big") + body


def taken(items: list[Message | memoryview]) -> list[Message | bytes]:
    """`items` with each data record's view made bytes, for comparing."""
    return [bytes(item) if isinstance(item, memoryview) else item for item in items]


def data_of(items: list[Message | memoryview]) -> bytes:
    """The bytes of `items`, all data records."""
    assert all(isinstance(item, memoryview) for item in items)
    return b"".join(bytes(item) for item in items if isinstance(item, memoryview))


def test_data_goes_in_records_as_large_as_a_noise_message() -> None:
    client, server = pair()
    data = bytes(range(256)) * 1000  # 256,000 bytes: four records, the last short
    sealed = client.seal_data(data)
    assert [len(f) for f in frames(bytes(sealed))] == [FRAME_HEADER + MAX_RECORD] * 3 + [
        FRAME_HEADER + 1 + 16 + len(data) - 3 * RECORD_DATA
    ]
    assert data_of(server.feed_with_data(sealed)) == data


def test_messages_and_data_arrive_in_the_order_sent() -> None:
    client, server = pair()
    client.send(Chat("c-1", "a", "b", "before"))
    wire = client.seal_data(b"x" * 10)  # what output() held comes first
    client.send(Chat("c-2", "a", "b", "after"))
    wire += client.output()
    assert taken(server.feed_with_data(wire)) == [
        Chat("c-1", "a", "b", "before"),
        b"x" * 10,
        Chat("c-2", "a", "b", "after"),
    ]


def test_a_connection_that_takes_messages_only_refuses_a_data_record() -> None:
    client, server = pair()
    with pytest.raises(DecodeError, match="data record"):
        server.feed(bytes(client.seal_data(b"file bytes")))
    with pytest.raises(DecodeError):
        server.feed(b"")  # closed


def test_no_data_before_the_handshake_is_over() -> None:
    client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(SERVER))
    with pytest.raises(ValueError):
        client.seal_data(b"too early")


@pytest.mark.parametrize("attack", ["replayed", "altered", "swapped", "dropped", "header"])
def test_a_data_record_replayed_altered_reordered_or_left_out_closes_the_connection(
    attack: str,
) -> None:
    client, server = pair()
    records = frames(bytes(client.seal_data(b"a" * (3 * RECORD_DATA))))
    first, second, third = records
    if attack == "replayed":
        wire = first + first
    elif attack == "altered":
        wire = first + second[:-1] + bytes([second[-1] ^ 1])
    elif attack == "swapped":
        wire = first + third + second
    elif attack == "dropped":
        wire = first + third
    else:  # a length that says less: the record is cut, and what follows is no frame
        wire = first + (len(second) - FRAME_HEADER - 1).to_bytes(FRAME_HEADER, "big")
        wire += second[FRAME_HEADER:]
    opened: list[Message | memoryview] = []
    with pytest.raises(DecodeError):
        for frame in frames(wire) if attack != "header" else [wire]:
            opened += server.feed_with_data(frame)
    assert data_of(opened) in (b"", b"a" * RECORD_DATA)  # the first only


def test_a_data_record_inside_a_message_is_refused() -> None:
    # A connector with code of its own, which does the handshake and seals its records
    # itself: a stream never sends a data record between the records of a message.
    connector = Handshake(
        "IK",
        initiator=True,
        prologue=PROLOGUE,
        static=X25519PrivateKey.generate(),
        remote_static=public_bytes(SERVER),
    )
    server = SecureStream(SERVER)
    assert server.feed(framed(connector.write_message(b""))) == []
    connector.read_message(server.output()[FRAME_HEADER:])
    sending, _ = connector.split()
    begun = sending.encrypt(0, b"", MORE + b'{"type"')  # a message begun, never ended
    data = sending.encrypt(1, b"", DATA + b"data")
    with pytest.raises(DecodeError, match="inside a message"):
        server.feed_with_data(framed(begun) + framed(data))


def test_the_buffer_fed_may_be_read_into_again() -> None:
    client, server = pair()
    data = bytes(range(256)) * 600
    wire = bytes(client.seal_data(data))
    buffer = bytearray(50_000)  # a frame spans reads: its start is kept, not the buffer
    got = b""
    for at in range(0, len(wire), len(buffer)):
        piece = wire[at : at + len(buffer)]
        buffer[: len(piece)] = piece
        got += data_of(server.feed_with_data(memoryview(buffer)[: len(piece)]))
        buffer[:] = bytes(len(buffer))  # overwritten before the next read
    assert got == data


@settings(max_examples=examples(50), deadline=None)
@given(
    st.lists(st.one_of(st.binary(max_size=3 * RECORD_DATA), st.text(max_size=50)), max_size=6),
    st.lists(st.integers(min_value=1, max_value=70_000), min_size=1, max_size=20),
)
def test_any_cut_of_the_stream_gives_what_was_sent(
    sent: list[bytes | str], cuts: list[int]
) -> None:
    """Data (bytes) and chat messages (text), the stream cut into reads of any sizes."""
    client, server = pair()
    wire = bytearray()
    expected: list[Message | bytes] = []
    for number, thing in enumerate(sent):
        if isinstance(thing, bytes):
            wire += client.seal_data(thing)
            expected += [thing[at : at + RECORD_DATA] for at in range(0, len(thing), RECORD_DATA)]
        else:
            client.send(Chat(f"c-{number}", "a", "b", thing))
            expected.append(Chat(f"c-{number}", "a", "b", thing))
    wire += client.output()
    got: list[Message | bytes] = []
    at, turn = 0, 0
    while at < len(wire):
        size = cuts[turn % len(cuts)]
        got += taken(server.feed_with_data(bytes(wire[at : at + size])))
        at, turn = at + size, turn + 1
    assert got == expected and server.pending == 0
