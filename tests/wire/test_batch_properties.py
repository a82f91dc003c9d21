"""Several messages in one datagram: pack_datagrams, and what reads them (decode_datagram)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from wire_strategies import assert_valid_message, dataclass_strategy

from tests.datagrams import messages_of
from tests.hypothesis_profiles import examples
from wire.codec import DecodeError, encode, fits_datagram, pack_datagrams
from wire.limits import MAX_DATAGRAM
from wire.messages import MESSAGE_TYPES, Message

small_messages = (
    st.sampled_from(sorted(MESSAGE_TYPES.values(), key=lambda c: c.__name__))
    .flatmap(dataclass_strategy)
    .filter(lambda m: fits_datagram(encode(m)))
)


@settings(deadline=None)
@given(st.lists(small_messages, min_size=1, max_size=30))
def test_packing_keeps_every_message_in_order_within_the_size_limit(
    messages: list[Message],
) -> None:
    packets = pack_datagrams([encode(m) for m in messages])
    assert all(len(p) <= MAX_DATAGRAM for p in packets)
    assert [m for p in packets for m in messages_of(p)] == messages
    # one message alone travels as itself, readable by the single-message decoder too
    if len(messages) == 1:
        assert packets == [encode(messages[0])]


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=1300))
def test_garbage_batches_give_messages_or_the_decode_error(data: bytes) -> None:
    for prefix in (b"", b"["):
        try:
            messages = messages_of(prefix + data)
        except DecodeError:
            continue
        for message in messages:
            assert_valid_message(message)


def test_a_batch_with_one_bad_member_is_refused_whole() -> None:
    good = encode(MESSAGE_TYPES["Ack"]("a-1", "r-1"))  # type: ignore[call-arg]
    for bad in (b"[" + good + b",1]", b"[]", b"[" + good + b',{"t":"Nope"}]'):
        try:
            messages_of(bad)
        except DecodeError:
            continue
        raise AssertionError(f"accepted {bad!r}")
