"""The secure session of a TCP connection: a connector and an acceptor feeding each other."""

from __future__ import annotations

import contextlib

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from net.noise import public_bytes
from net.secure_stream import (
    KEY_REQUEST_FRAME,
    MAX_RECORD,
    ClearFrame,
    KeyGiven,
    SecureStream,
    key_answer,
)
from wire.errors import DecodeError
from wire.framing import encode_frame
from wire.limits import FRAME_HEADER
from wire.messages import Chat, Message, TableRequest

SERVER = X25519PrivateKey.generate()


def pair() -> tuple[SecureStream, SecureStream]:
    """A connector and an acceptor, their handshake done."""
    client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(SERVER))
    server = SecureStream(SERVER)
    assert server.feed(client.output()) == []
    assert client.feed(server.output()) == []
    assert client.ready and server.ready
    return client, server


def carried(sender: SecureStream, receiver: SecureStream, *messages: Message) -> list[Message]:
    for message in messages:
        sender.send(message)
    return receiver.feed(sender.output())


def test_messages_travel_both_ways_and_the_acceptor_learns_the_connectors_key() -> None:
    client, server = pair()
    assert carried(client, server, TableRequest("q-1")) == [TableRequest("q-1")]
    assert carried(server, client, Chat("c", "a", "b", "hi")) == [Chat("c", "a", "b", "hi")]
    assert server.remote_key == client._public  # the key it was made with


def test_what_is_sent_before_the_handshake_is_over_waits_for_it() -> None:
    client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(SERVER))
    client.send(TableRequest("early"))
    assert not client.ready
    server = SecureStream(SERVER)
    server.feed(client.output())  # the initiation alone
    assert client.feed(server.output()) == []
    assert server.feed(client.output()) == [TableRequest("early")]


def test_a_message_bigger_than_a_noise_message_travels_in_records() -> None:
    client, server = pair()
    big = Chat("c-1", "a", "b", "x" * (3 * MAX_RECORD))
    client.send(big)
    data = client.output()
    assert len(data) > 3 * MAX_RECORD
    # fed a byte range at a time, as TCP may deliver it
    got: list[Message] = []
    for i in range(0, len(data), 10_000):
        got += server.feed(data[i : i + 10_000])
    assert got == [big]


def test_a_replayed_or_altered_frame_closes_the_connection() -> None:
    client, server = pair()
    client.send(TableRequest("q-1"))
    frame = client.output()
    assert server.feed(frame) == [TableRequest("q-1")]
    with pytest.raises(DecodeError):
        server.feed(frame)  # the same frame again: its nonce is past
    client2, server2 = pair()
    client2.send(TableRequest("q-2"))
    altered = bytearray(client2.output())
    altered[-1] ^= 1
    with pytest.raises(DecodeError):
        server2.feed(bytes(altered))


def test_a_replayed_handshake_makes_a_session_nobody_can_use() -> None:
    client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(SERVER))
    client.send(TableRequest("q-1"))
    server = SecureStream(SERVER)
    hello = client.output()
    server.feed(hello)
    client.feed(server.output())
    recorded = client.output()
    # an attacker replays both to a new connection: the new answer has a new ephemeral key
    again = SecureStream(SERVER)
    again.feed(hello)
    with pytest.raises(DecodeError):
        again.feed(recorded)


def test_a_frame_header_over_a_record_is_refused_before_anything_is_buffered() -> None:
    server = SecureStream(SERVER)
    with pytest.raises(DecodeError):
        server.feed((MAX_RECORD + 1).to_bytes(FRAME_HEADER, "big"))


def test_a_message_in_clear_is_told_from_a_handshake() -> None:
    server = SecureStream(SERVER)
    with pytest.raises(ClearFrame) as caught:
        server.feed(encode_frame(TableRequest("old")))
    assert b"TableRequest" in caught.value.body


def test_the_key_is_given_in_clear_to_whoever_asks() -> None:
    server = SecureStream(SERVER)
    request = len(KEY_REQUEST_FRAME).to_bytes(FRAME_HEADER, "big") + KEY_REQUEST_FRAME
    with pytest.raises(KeyGiven):
        server.feed(request)
    answer = server.output()
    assert key_answer(answer[FRAME_HEADER:]) == public_bytes(SERVER)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_decode_error_or_nothing(data: bytes) -> None:
    server = SecureStream(SERVER)
    with contextlib.suppress(DecodeError):
        assert server.feed(data) == []
