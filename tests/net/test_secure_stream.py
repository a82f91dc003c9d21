"""The secure session of a TCP connection: a connector and an acceptor feeding each other."""

from __future__ import annotations

import contextlib
import tracemalloc

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from secure.noise import public_bytes
from secure.stream import (
    KEY_REQUEST_FRAME,
    MAX_HANDSHAKE_FRAME,
    MAX_RECORD,
    BufferBudget,
    ClearFrame,
    KeyGiven,
    OverBudget,
    SecureStream,
    frame,
    key_answer,
)
from tests.hypothesis_profiles import examples
from wire.codec import DecodeError, encode
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
    key = X25519PrivateKey.generate()
    client = SecureStream(key, remote=public_bytes(SERVER))
    server = SecureStream(SERVER)
    server.feed(client.output())
    client.feed(server.output())
    assert carried(client, server, TableRequest("q-1")) == [TableRequest("q-1")]
    assert carried(server, client, Chat("c", "a", "b", "hi")) == [Chat("c", "a", "b", "hi")]
    assert server.remote_key == public_bytes(key)  # the key it was made with


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


def test_before_the_handshake_a_frame_over_a_small_one_is_refused_on_its_header() -> None:
    # whoever has shown no key may make us hold a small frame only: a record of 64 KiB,
    # half sent by each of many connections, was held in full
    server = SecureStream(SERVER)
    with pytest.raises(DecodeError, match="first frame"):
        server.feed((MAX_HANDSHAKE_FRAME + 1).to_bytes(FRAME_HEADER, "big"))
    client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(SERVER))
    with pytest.raises(DecodeError, match="first frame"):  # nor a response's
        client.feed(MAX_RECORD.to_bytes(FRAME_HEADER, "big"))
    waiting = SecureStream(SERVER)  # one within it is waited for, and counted
    assert waiting.feed(MAX_HANDSHAKE_FRAME.to_bytes(FRAME_HEADER, "big") + bytes(10)) == []
    assert waiting.pending == FRAME_HEADER + 10


def test_once_the_handshake_is_over_records_up_to_a_noise_message_are_taken() -> None:
    client, server = pair()
    big = Chat("c-1", "a", "b", "x" * (MAX_HANDSHAKE_FRAME * 4))
    assert carried(client, server, big) == [big]


def test_what_is_held_of_a_message_counts_its_records_so_far() -> None:
    # the endpoint's deadline and the process's budget are of messages, not records
    client, server = pair()
    client.send(Chat("c-1", "a", "b", "x" * (2 * MAX_RECORD)))
    data = client.output()
    first = FRAME_HEADER + MAX_RECORD  # one whole record, then a few bytes of the next
    assert server.feed(data[: first + 5]) == []
    assert server.pending == MAX_RECORD - 16 - 1 + 5
    assert len(server.feed(data[first + 5 :])) == 1 and server.pending == 0


def budgeted_pair(budget: BufferBudget) -> tuple[SecureStream, SecureStream]:
    client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(SERVER))
    server = SecureStream(SERVER, budget=budget)
    server.feed(client.output())
    client.feed(server.output())
    return client, server


def first_records(sender: SecureStream, size: int) -> bytes:
    """Every record of a message of `size` bytes but the last: held, waiting for more."""
    sender.send(Chat("c-1", "a", "b", "x" * size))
    data = sender.output()
    start = 0
    while True:  # to the beginning of the last frame
        end = start + FRAME_HEADER + int.from_bytes(data[start : start + FRAME_HEADER], "big")
        if end >= len(data):
            return data[:start]
        start = end


def test_sessions_sharing_a_budget_drop_the_one_holding_most() -> None:
    budget = BufferBudget(3 * MAX_RECORD)
    (c1, s1), (c2, s2), (c3, s3) = (budgeted_pair(budget) for _ in range(3))
    dropped: list[SecureStream] = []
    for session in (s1, s2, s3):
        session.on_over_budget = lambda session=session: dropped.append(session)
    assert s1.feed(first_records(c1, 2 * MAX_RECORD)) == []  # two records held
    assert s2.feed(first_records(c2, MAX_RECORD)) == [] and not dropped  # one more
    # one more record: over; s1 holds most, and its owner is told to close it
    assert s3.feed(first_records(c3, MAX_RECORD)) == []
    assert dropped == [s1] and budget.held(s1) == 0
    with pytest.raises(DecodeError):
        s1.feed(b"")  # it reads no more
    s2.close()  # a connection over: what it held is released
    assert budget.total == budget.held(s3) > 0
    # the session fed is dropped itself when it holds most
    c4, s4 = budgeted_pair(budget)
    with pytest.raises(OverBudget):
        s4.feed(first_records(c4, 5 * MAX_RECORD))
    assert budget.held(s4) == 0 and budget.held(s3) > 0


def test_a_message_in_clear_is_told_from_a_handshake() -> None:
    server = SecureStream(SERVER)
    with pytest.raises(ClearFrame) as caught:
        server.feed(frame(encode(TableRequest("old"))))
    assert b"TableRequest" in caught.value.body


def test_the_key_is_given_in_clear_to_whoever_asks() -> None:
    server = SecureStream(SERVER)
    request = len(KEY_REQUEST_FRAME).to_bytes(FRAME_HEADER, "big") + KEY_REQUEST_FRAME
    with pytest.raises(KeyGiven):
        server.feed(request)
    answer = server.output()
    assert key_answer(answer[FRAME_HEADER:]) == public_bytes(SERVER)


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_decode_error_or_nothing(data: bytes) -> None:
    server = SecureStream(SERVER)
    with contextlib.suppress(DecodeError):
        assert server.feed(data) == []


def test_a_connection_waiting_for_its_handshake_holds_under_4_kb() -> None:
    """So a stranger's 4,096 connections that send nothing hold some 16 MB, not the 270 MB
    a 64 KiB buffer each for sealing file data made of them (docs/SECURITY.md)."""
    static = X25519PrivateKey.generate()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        streams = [SecureStream(static, budget=BufferBudget()) for _ in range(200)]
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(streams) * 4096 > grown, grown / len(streams)  # 1.3 kB with CPython 3.11


def test_a_frame_is_its_length_then_its_body() -> None:
    body = encode(TableRequest("old"))
    assert frame(body) == len(body).to_bytes(FRAME_HEADER, "big") + body
