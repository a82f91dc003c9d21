"""secure.one_way: one Noise_X handshake, then records that each open alone, in any order, only
for their recipient, showing their sender's key; anything altered does not open."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from secure import one_way
from secure.noise import NoiseError, public_bytes
from secure.one_way import HEADER, OPENED_KEPT, PREFIX, OneWayOpener, OneWaySealer
from tests.hypothesis_profiles import examples

pytestmark = pytest.mark.timeout(30)

ALICE, BOB, MALLORY = (X25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in (1, 2, 3))
PROLOGUE = b"one-way test"


def sealer(sender: X25519PrivateKey = ALICE, to: X25519PrivateKey = BOB) -> OneWaySealer:
    return OneWaySealer(sender, public_bytes(to), PROLOGUE)


@settings(max_examples=examples(30), deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=12), st.randoms())
def test_records_open_alone_in_any_order_with_their_senders_key(
    payloads: list[bytes], rng: object
) -> None:
    stream = sealer()
    records = [(stream.seal(p), p) for p in payloads]
    rng.shuffle(records)  # type: ignore[attr-defined]
    opener = OneWayOpener(BOB, PROLOGUE)
    for record, payload in records:
        assert opener.open(record) == (public_bytes(ALICE), payload)
        assert OneWayOpener(BOB, PROLOGUE).open(record) == (public_bytes(ALICE), payload)


def handshakes_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pattern of each handshake made from now on, in secure.one_way."""
    made: list[str] = []
    real = one_way.Handshake

    def counted(pattern: str, **kw: object) -> object:
        made.append(pattern)
        return real(pattern, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(one_way, "Handshake", counted)
    return made


def test_one_handshake_for_a_stream_on_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    made = handshakes_made(monkeypatch)
    stream = sealer()
    records = [stream.seal(b"message %d" % i) for i in range(50)]
    assert {r[:HEADER] for r in records} == {records[0][:HEADER]}
    assert len({r[HEADER:PREFIX] for r in records}) == 50  # a nonce each
    opener = OneWayOpener(BOB, PROLOGUE)
    assert [opener.open(r)[1] for r in records] == [b"message %d" % i for i in range(50)]
    assert made == ["X", "X"]  # one to seal them all, one to open them all


def test_only_the_recipient_opens_and_nothing_altered_opens() -> None:
    record = sealer().seal(b"for bob only")
    with pytest.raises(NoiseError):
        OneWayOpener(MALLORY, PROLOGUE).open(record)
    with pytest.raises(NoiseError):
        OneWayOpener(BOB, b"another protocol").open(record)
    opener = OneWayOpener(BOB, PROLOGUE)
    assert opener.open(record)[1] == b"for bob only"  # its stream is now remembered
    for i in range(len(record)):
        altered = record[:i] + bytes([record[i] ^ 0x01]) + record[i + 1 :]
        with pytest.raises(NoiseError):
            opener.open(altered)
    for short in (record[:PREFIX], record[: PREFIX + 15], b""):
        with pytest.raises(NoiseError):
            opener.open(short)


def test_a_nonce_moved_to_another_record_does_not_open() -> None:
    stream = sealer()
    first, second = stream.seal(b"one"), stream.seal(b"two")
    swapped = first[:HEADER] + second[HEADER:PREFIX] + first[PREFIX:]
    with pytest.raises(NoiseError):
        OneWayOpener(BOB, PROLOGUE).open(swapped)


def test_a_forged_sender_is_shown_as_the_key_that_sealed() -> None:
    # Mallory can seal to bob, but only as mallory: the opener names the key that sealed
    record = sealer(sender=MALLORY).seal(b"this is alice, honestly")
    assert OneWayOpener(BOB, PROLOGUE).open(record)[0] == public_bytes(MALLORY)


def test_a_key_nothing_can_be_sealed_to_raises_the_one_noise_error() -> None:
    with pytest.raises(NoiseError):
        OneWaySealer(ALICE, bytes(32), PROLOGUE)


def test_the_opener_remembers_a_bounded_number_of_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opener = OneWayOpener(BOB, PROLOGUE)
    streams = [sealer() for _ in range(OPENED_KEPT + 5)]
    for stream in streams:
        opener.open(stream.seal(b"hi"))
    handshakes = handshakes_made(monkeypatch)
    for stream in streams[5:]:  # the last OPENED_KEPT: remembered, no handshake read again
        assert opener.open(stream.seal(b"again"))[1] == b"again"
    assert handshakes == []
    assert opener.open(streams[0].seal(b"again"))[1] == b"again"  # read anew once forgotten
    assert len(handshakes) == 1
