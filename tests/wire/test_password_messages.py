"""Properties of a password's messages (PasswordAsk, PasswordChallenge, a Register's proof
or verifier: secure/password.py) with the values they carry: each survives a round trip and
fits a datagram; bytes mutated, fields of the wrong type or past MAX_SRP decode to a valid
message or raise DecodeError; and whatever text a field holds, the steps that read it
(Stored.parse, prove, verify, an older hash's migration) give "no" and never raise."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_strategies import assert_valid_message

from registry.adapter.password_checks import migrated
from secure import password
from tests.hypothesis_profiles import examples
from wire.codec import DecodeError, decode, encode, fits_datagram
from wire.limits import MAX_ID, MAX_NAME, MAX_SRP
from wire.messages import Message, PasswordAsk, PasswordChallenge, Register
from wire.version import WIRE_VERSION

ids = st.text(max_size=MAX_ID)
names = st.text(max_size=MAX_NAME)
#: hex of 0 to 256 bytes: the sizes a group element, a salt or a hash takes
hexes = st.binary(max_size=256).map(bytes.hex)
costs = st.integers(0, 99).map(str)


@pytest.fixture(autouse=True)
def cheap_costs() -> Iterator[None]:
    """scrypt at 2**10 where a drawn cost asks for one: these are of what is read, not of
    what it costs (tests/net/test_password.py pays the real one)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(password, "MIN_LOG2_N", 10)
        patch.setattr(password, "MAX_LOG2_N", 11)
        yield


@st.composite
def proofs(draw: st.DrawFn) -> str:
    return f"{draw(hexes)}${draw(st.binary(min_size=32, max_size=32)).hex()}"


@st.composite
def verifiers(draw: st.DrawFn) -> str:
    salts = st.binary(min_size=password.SALT_BYTES, max_size=password.SALT_BYTES).map(bytes.hex)
    parts = (draw(costs), draw(salts), draw(salts), draw(hexes))
    return password.PREFIX + "$".join(parts)


@st.composite
def password_messages(draw: st.DrawFn) -> Message:
    """A PasswordAsk, a PasswordChallenge or a Register carrying what a real one carries."""
    kind = draw(st.sampled_from(("ask", "challenge", "proof", "verifier")))
    if kind == "ask":
        return PasswordAsk(draw(ids), draw(names))
    if kind == "challenge":
        scrypt = f"{draw(costs)}${draw(st.binary(max_size=32)).hex()}"
        salt, public = draw(st.binary(max_size=32)).hex(), draw(hexes)
        return PasswordChallenge(draw(ids), draw(ids), draw(st.booleans()), scrypt, salt, public)
    token = draw(st.sampled_from(("", secrets.token_hex(16))))
    proof, verifier = (draw(proofs()), "") if kind == "proof" else ("", draw(verifiers()))
    port = draw(st.integers(0, 65535))
    return Register(draw(ids), draw(names), port, token, proof, WIRE_VERSION, verifier)


@settings(max_examples=examples(200), deadline=None)
@given(password_messages())
def test_a_password_message_survives_a_round_trip_and_fits_a_datagram(message: Message) -> None:
    data = encode(message)
    assert decode(data) == message
    if all(str(v).isascii() for v in json.loads(data).values()):  # ids as peers make them
        assert fits_datagram(data)


@settings(max_examples=examples(200), deadline=None)
@given(password_messages(), st.data())
def test_mutated_bytes_give_a_valid_message_or_a_decode_error(
    message: Message, data: st.DataObject
) -> None:
    raw = bytearray(encode(message))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.sampled_from(b'"\\{}[]:,$0af \x00\xff'))
    try:
        got = decode(bytes(raw))
    except DecodeError:
        return
    assert_valid_message(got)
    assert decode(encode(got)) == got


@settings(max_examples=examples(200), deadline=None)
@given(password_messages(), st.data())
def test_a_field_of_another_type_or_past_its_bound_is_refused(
    message: Message, data: st.DataObject
) -> None:
    obj: dict[str, Any] = json.loads(encode(message))
    fields = sorted(k for k in obj if k in {"proof", "verifier", "scrypt", "salt", "public"})
    if not fields:
        return
    field = data.draw(st.sampled_from(fields))
    obj[field] = data.draw(
        st.one_of(
            st.integers(),
            st.none(),
            st.lists(st.text(max_size=3), max_size=2),
            st.text(min_size=MAX_SRP + 1, max_size=MAX_SRP + 40),
        )
    )
    with pytest.raises(DecodeError):
        decode(json.dumps(obj).encode())


@settings(max_examples=examples(200), deadline=None)
@given(st.one_of(st.text(max_size=MAX_SRP), verifiers()))
def test_any_kept_text_parses_to_a_verifier_or_none_and_migrates_to_one_or_nothing(
    text: str,
) -> None:
    stored = password.Stored.parse(text)
    assert stored is None or password.MIN_LOG2_N <= stored.log2_n <= password.MAX_LOG2_N
    made = migrated(text)
    assert made == "" or password.Stored.parse(made) is not None


#: One challenge of a made-up verifier, for the proofs below: a challenge takes a while.
_SESSION = password.challenge(password.made_up(b"secret", "eve"), b"eve")


@settings(max_examples=examples(200), deadline=None)
@given(st.one_of(st.text(max_size=MAX_SRP), proofs()))
def test_any_proof_is_refused_never_raises(proof: str) -> None:
    assert password.verify(_SESSION.session, proof) is False


@settings(max_examples=examples(100), deadline=None)
@given(
    st.one_of(st.text(max_size=12), costs.map(lambda c: f"{c}$00")),
    st.one_of(st.text(max_size=12), hexes),
    st.one_of(st.text(max_size=12), hexes),
)
def test_any_challenge_is_answered_or_not_never_raises(scrypt: str, salt: str, public: str) -> None:
    proof = password.prove("pw", b"eve", scrypt, salt, public)
    assert proof == "" or proof.count("$") == 1
