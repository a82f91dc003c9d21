"""secure.noise against the noise-c and cacophony test vectors, and against tampering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from secure.noise import (
    CIPHERS,
    PATTERNS,
    CipherState,
    Handshake,
    NoiseError,
    open_sealed,
    public_bytes,
    seal,
)

pytestmark = pytest.mark.timeout(20)

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "noise_vectors.json").read_text(encoding="utf-8")
)["vectors"]
VECTORS = [
    vector
    for vector in VECTORS
    if vector["name"] == f"Noise_{vector['pattern']}_25519_{CIPHERS.get(vector['pattern'])}_SHA256"
]

# Fixed keys: each test's handshakes are then the same from run to run
INIT_S = X25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
RESP_S = X25519PrivateKey.from_private_bytes(bytes(range(33, 65)))
PROLOGUE = b"ChatApp test"


def _static(vector: dict[str, Any], field: str) -> X25519PrivateKey:
    key = _key(vector, field)
    assert key is not None  # every pattern ChatApp speaks has both static keys
    return key


def _key(vector: dict[str, Any], field: str) -> X25519PrivateKey | None:
    return (
        X25519PrivateKey.from_private_bytes(bytes.fromhex(vector[field]))
        if field in vector
        else None
    )


@pytest.mark.parametrize(
    "vector", VECTORS, ids=[f"{v['name']}-{v['source'].rsplit('/', 1)[1]}" for v in VECTORS]
)
def test_vector(vector: dict[str, Any]) -> None:
    pattern = vector["pattern"]
    remote = vector.get("init_remote_static")
    initiator = Handshake(
        pattern,
        initiator=True,
        prologue=bytes.fromhex(vector["init_prologue"]),
        static=_static(vector, "init_static"),
        remote_static=bytes.fromhex(remote) if remote else None,
    )
    initiator.ephemeral = _key(vector, "init_ephemeral")
    responder = Handshake(
        pattern,
        initiator=False,
        prologue=bytes.fromhex(vector["resp_prologue"]),
        static=_static(vector, "resp_static"),
    )
    responder.ephemeral = _key(vector, "resp_ephemeral")
    if remote:
        assert public_bytes(
            X25519PrivateKey.from_private_bytes(bytes.fromhex(vector["resp_static"]))
        ) == bytes.fromhex(remote)
    one_way = len(PATTERNS[pattern]) == 1
    sides = (initiator, responder)
    sent = {0: 0, 1: 0}  # transport nonces, by sender (0: the initiator)
    transport: dict[int, tuple[CipherState, CipherState]] = {}
    for i, message in enumerate(vector["messages"]):
        payload, ciphertext = (
            bytes.fromhex(message["payload"]),
            bytes.fromhex(message["ciphertext"]),
        )
        by = 0 if one_way else i % 2
        if not initiator.complete:
            assert sides[by].write_message(payload) == ciphertext
            assert sides[1 - by].read_message(ciphertext) == payload
            continue
        if not transport:
            assert initiator.handshake_hash == responder.handshake_hash
            if "handshake_hash" in vector:
                assert initiator.handshake_hash == bytes.fromhex(vector["handshake_hash"])
            transport = {0: initiator.split(), 1: responder.split()}
        nonce = sent[by]
        sent[by] += 1
        assert transport[by][0].encrypt(nonce, b"", payload) == ciphertext
        assert transport[1 - by][1].decrypt(nonce, b"", ciphertext) == payload
    assert responder.complete and transport


def _pair(pattern: str, prologue: bytes = PROLOGUE) -> tuple[Handshake, Handshake]:
    initiator = Handshake(
        pattern,
        initiator=True,
        prologue=prologue,
        static=INIT_S,
        remote_static=public_bytes(RESP_S),
    )
    responder = Handshake(pattern, initiator=False, prologue=prologue, static=RESP_S)
    return initiator, responder


def _payload(i: int) -> bytes:
    return f"message {i}".encode()


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_a_handshake_completes_and_its_ciphers_pair_up(pattern: str) -> None:
    initiator, responder = _pair(pattern)
    sides = (initiator, responder)
    for i in range(len(PATTERNS[pattern])):
        assert sides[1 - i % 2].read_message(sides[i % 2].write_message(_payload(i))) == _payload(i)
    assert initiator.complete and responder.complete
    assert initiator.handshake_hash == responder.handshake_hash
    assert initiator.remote_static == public_bytes(RESP_S)
    assert responder.remote_static == public_bytes(INIT_S)
    i_send, i_receive = initiator.split()
    r_send, r_receive = responder.split()
    assert r_receive.decrypt(7, b"ad", i_send.encrypt(7, b"ad", b"hello")) == b"hello"
    assert i_receive.decrypt(0, b"", r_send.encrypt(0, b"", b"back")) == b"back"
    # each direction has a key of its own
    with pytest.raises(NoiseError):
        i_receive.decrypt(0, b"", i_send.encrypt(0, b"", b"x"))


def _tampered(message: bytes) -> list[bytes]:
    """Each byte flipped (one bit and all bits), and every truncation."""
    out = []
    for at in range(len(message)):
        for mask in (0x01, 0xFF):
            out.append(message[:at] + bytes([message[at] ^ mask]) + message[at + 1 :])
    out += [message[:size] for size in range(len(message))]
    return out


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_a_flipped_or_truncated_handshake_message_fails_and_leaves_the_state(pattern: str) -> None:
    initiator, responder = _pair(pattern)
    sides = (initiator, responder)
    for i in range(len(PATTERNS[pattern])):
        message = sides[i % 2].write_message(_payload(i))
        reader = sides[1 - i % 2]
        for bad in _tampered(message):
            with pytest.raises(NoiseError):
                reader.read_message(bad)
        # a failed read kept the state: the genuine message still opens
        assert reader.read_message(message) == _payload(i)
    assert initiator.handshake_hash == responder.handshake_hash


@pytest.mark.parametrize("cipher", ["AESGCM", "ChaChaPoly"])
def test_a_flipped_or_truncated_transport_message_fails(cipher: str) -> None:
    send = receive = CipherState(bytes(range(32)), cipher)
    message = send.encrypt(5, b"ad", b"transport payload")
    for bad in _tampered(message):
        with pytest.raises(NoiseError):
            receive.decrypt(5, b"ad", bad)
    for nonce, ad in ((4, b"ad"), (6, b"ad"), (5, b""), (5, b"ae")):
        with pytest.raises(NoiseError):
            receive.decrypt(nonce, ad, message)
    assert receive.decrypt(5, b"ad", message) == b"transport payload"


def test_the_nonce_is_32_zero_bits_then_the_counter_in_the_ciphers_byte_order() -> None:
    """§12.3: ChaChaPoly's counter is little-endian; §12.4: AESGCM's is big-endian."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

    key = bytes(range(32))
    raw = ChaCha20Poly1305(key).encrypt(bytes(4) + (0x0102).to_bytes(8, "little"), b"p", b"a")
    assert CipherState(key, "ChaChaPoly").encrypt(0x0102, b"a", b"p") == raw
    raw = AESGCM(key).encrypt(bytes(4) + (0x0102).to_bytes(8, "big"), b"p", b"a")
    assert CipherState(key, "AESGCM").encrypt(0x0102, b"a", b"p") == raw


def test_each_pattern_speaks_its_cipher_in_its_protocol_name() -> None:
    """The live channel (IK) is AESGCM; sealed mail (X), kept on disk, stays ChaChaPoly."""
    assert {pattern: CIPHERS[pattern] for pattern in PATTERNS} == {
        "IK": "AESGCM",
        "X": "ChaChaPoly",
    }
    assert sorted({v["name"] for v in VECTORS}) == [
        "Noise_IK_25519_AESGCM_SHA256",
        "Noise_X_25519_ChaChaPoly_SHA256",
    ]


@pytest.mark.parametrize("cipher_name", ["AESGCM", "ChaChaPoly"])
def test_nonces_and_sizes_out_of_range(cipher_name: str) -> None:
    cipher = CipherState(bytes(32), cipher_name)
    last = 2**64 - 2
    assert cipher.decrypt(last, b"", cipher.encrypt(last, b"", b"x")) == b"x"
    for nonce in (-1, 2**64 - 1, 2**64):
        with pytest.raises(ValueError):
            cipher.encrypt(nonce, b"", b"x")
        with pytest.raises(NoiseError):
            cipher.decrypt(nonce, b"", bytes(17))
    assert len(cipher.encrypt(0, b"", bytes(65535 - 16))) == 65535
    with pytest.raises(ValueError):
        cipher.encrypt(0, b"", bytes(65535 - 15))
    with pytest.raises(NoiseError):
        cipher.decrypt(0, b"", bytes(65536))
    with pytest.raises(ValueError):
        CipherState(bytes(31), cipher_name)


def test_an_oversize_handshake_message() -> None:
    initiator, responder = _pair("IK")
    overhead = 32 + 48 + 16
    with pytest.raises(ValueError):
        initiator.write_message(bytes(65535 - overhead + 1))
    message = initiator.write_message(bytes(65535 - overhead))  # the failed write kept the state
    assert len(message) == 65535
    with pytest.raises(NoiseError):
        responder.read_message(message + b"\0")
    assert responder.read_message(message) == bytes(65535 - overhead)


def test_low_order_keys_raise_noise_error() -> None:
    # An all-zero public key (a low-order point) makes an all-zero DH output
    initiator, responder = _pair("IK")
    message = initiator.write_message(b"")
    with pytest.raises(NoiseError):
        responder.read_message(bytes(32) + message[32:])
    lone = Handshake("IK", initiator=True, prologue=b"", static=INIT_S, remote_static=bytes(32))
    with pytest.raises(NoiseError):
        lone.write_message(b"")
    with pytest.raises(NoiseError):
        seal(INIT_S, bytes(32), b"", b"x")


def test_out_of_turn_and_misuse() -> None:
    initiator, responder = _pair("IK")
    with pytest.raises(ValueError):
        responder.write_message(b"")  # the initiator speaks first
    with pytest.raises(NoiseError):
        initiator.read_message(bytes(100))
    with pytest.raises(ValueError):
        initiator.split()
    responder.read_message(initiator.write_message(b""))
    initiator.read_message(responder.write_message(b""))
    with pytest.raises(NoiseError):
        responder.read_message(bytes(100))  # complete: nothing more to read
    with pytest.raises(ValueError):
        initiator.write_message(b"")
    with pytest.raises(ValueError):
        Handshake("KK", initiator=True, prologue=b"", static=INIT_S)
    with pytest.raises(ValueError):  # the responder learns the key: one given would go unchecked
        Handshake("IK", initiator=False, prologue=b"", static=RESP_S, remote_static=bytes(32))
    with pytest.raises(ValueError):
        Handshake("IK", initiator=True, prologue=b"", static=INIT_S)  # whose key?
    with pytest.raises(ValueError):
        Handshake("IK", initiator=True, prologue=b"", static=INIT_S, remote_static=bytes(31))


def test_prologues_must_match() -> None:
    initiator, _ = _pair("IK", b"one")
    _, responder = _pair("IK", b"two")
    with pytest.raises(NoiseError):
        responder.read_message(initiator.write_message(b""))


def test_seal_round_trip_learns_the_sender() -> None:
    sealed = seal(INIT_S, public_bytes(RESP_S), b"chat", b"for your eyes")
    assert len(sealed) == 32 + 48 + len(b"for your eyes") + 16
    assert open_sealed(RESP_S, b"chat", sealed) == (public_bytes(INIT_S), b"for your eyes")
    # fresh ephemeral keys: the same message seals differently each time
    assert seal(INIT_S, public_bytes(RESP_S), b"chat", b"for your eyes") != sealed


def test_sealed_fails_for_another_recipient_prologue_or_change() -> None:
    sealed = seal(INIT_S, public_bytes(RESP_S), b"chat", b"for your eyes")
    with pytest.raises(NoiseError):
        open_sealed(X25519PrivateKey.generate(), b"chat", sealed)
    with pytest.raises(NoiseError):
        open_sealed(RESP_S, b"other", sealed)
    for bad in _tampered(sealed):
        with pytest.raises(NoiseError):
            open_sealed(RESP_S, b"chat", bad)


def _reader(which: int) -> tuple[str, Handshake, bytes]:
    """A side about to read, with the genuine message: for each pattern the responder its
    first message (even `which`) and, for the two-way patterns, the initiator its second."""
    pattern = sorted(PATTERNS)[which // 2]
    initiator, responder = _pair(pattern)
    first = initiator.write_message(b"one")
    if which % 2 == 0 or len(PATTERNS[pattern]) == 1:
        return pattern, responder, first
    responder.read_message(first)
    return pattern, initiator, responder.write_message(b"two")


@given(which=st.integers(0, 2 * len(PATTERNS) - 1), data=st.data())
def test_read_message_on_arbitrary_bytes_raises_only_noise_error(which: int, data: Any) -> None:
    _, reader, genuine = _reader(which)
    junk = data.draw(
        st.one_of(
            st.binary(max_size=200),
            # the genuine message with bytes replaced, inserted or cut
            st.tuples(st.integers(0, len(genuine)), st.binary(max_size=4), st.integers(0, 4)).map(
                lambda t: genuine[: t[0]] + t[1] + genuine[t[0] + t[2] :]
            ),
        )
    )
    try:
        reader.read_message(junk)
    except NoiseError:
        return
    assert junk == genuine
