"""The Noise Protocol Framework, revision 34 (https://noiseprotocol.org/noise.html), sans-IO:
handshakes Noise_{N,X,IK,XX}_25519_ChaChaPoly_SHA256 and their transport ciphers, built from
pyca `cryptography` primitives only. Section numbers (§) below are the spec's.

The spec's CipherState is a key `k` and a nonce `n`. Here `CipherState` holds the key and
takes the nonce from its caller, as out-of-order transport does (§11.4, and WireGuard); during
the handshake the `n` that increments is kept beside it in `_SymmetricState`."""

from __future__ import annotations

import struct
from typing import Final, TypedDict, Unpack

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from msgspec import Struct

DHLEN = 32  # §12.1
HASHLEN = 32  # §12.5
TAGLEN = 16  # §4.2
MAX_MESSAGE = 65535  # §3: every Noise message, handshake or transport
MAX_NONCE = 2**64 - 1  # §5.1: reserved, never used to encrypt or decrypt
SUITE = "25519_ChaChaPoly_SHA256"  # §8: the protocol name's crypto sections


class NoiseError(Exception):
    """Any input that does not open or does not fit the handshake. The only exception
    read_message/decrypt raise."""


class _Pattern(Struct, frozen=True):
    """A handshake pattern (§7.1): the pre-messages' keys, then the message patterns, which
    alternate starting with the initiator."""

    pre_initiator: tuple[str, ...]
    pre_responder: tuple[str, ...]
    messages: tuple[tuple[str, ...], ...]


#: The patterns this module speaks (§7.4 one-way, §7.5 interactive). Pre-messages here
#: only ever hold "s".
PATTERNS = {
    "N": _Pattern((), ("s",), (("e", "es"),)),
    "X": _Pattern((), ("s",), (("e", "es", "s", "ss"),)),
    "IK": _Pattern((), ("s",), (("e", "es", "s", "ss"), ("e", "ee", "se"))),
    "XX": _Pattern((), (), (("e",), ("e", "ee", "s", "es"), ("s", "se"))),
}


def public_bytes(private: X25519PrivateKey) -> bytes:
    """The 32 raw bytes of `private`'s public key, as Noise sends and hashes it."""
    return private.public_key().public_bytes_raw()


def dh(private: X25519PrivateKey, public: bytes) -> bytes:
    """DH (§12.1), the one place a handshake does one (the tests count them here). A
    low-order public key gives an all-zero output, which OpenSSL refuses with ValueError;
    §12.1 allows signalling an error, and that error is ours."""
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        raise NoiseError("low-order public key") from None


def _hash(*parts: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    for part in parts:
        digest.update(part)
    return digest.finalize()


def _hkdf2(chaining_key: bytes, input_key_material: bytes) -> tuple[bytes, bytes]:
    """HKDF(ck, ikm, 2) of §4.3, which the spec notes is RFC 5869's HKDF with `ck` as the
    salt and no info."""
    out = HKDF(hashes.SHA256(), 2 * HASHLEN, chaining_key, b"").derive(input_key_material)
    return out[:HASHLEN], out[HASHLEN:]


#: §12.3's nonce: 32 bits of zeros, then the 64-bit n little-endian (as WireGuard's counter).
nonce_bytes: Final = struct.Struct("<4xQ").pack


class CipherState:
    """One direction's transport key (§5.1) with the nonce given per call (§11.4). The
    sender must never use a nonce twice with one key; the receiver must refuse a repeated
    one itself (secure.replay). Nonces run from 0 to 2**64 - 2."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a ChaChaPoly key is 32 bytes")
        self._aead = ChaCha20Poly1305(key)

    @property
    def aead(self) -> ChaCha20Poly1305:
        """The key's ChaCha20-Poly1305 itself, for a transport that makes each nonce with
        `nonce_bytes` and keeps nonces and sizes in range itself (secure.channel's DATA): one
        call less for every datagram."""
        return self._aead

    def encrypt(self, nonce: int, ad: bytes, plaintext: bytes) -> bytes:
        """ENCRYPT(k, nonce, ad, plaintext) (§4.2): the plaintext and a 16-byte tag. A nonce
        out of range or a message over 65535 bytes is the caller's error (ValueError)."""
        if not 0 <= nonce < MAX_NONCE:
            raise ValueError("nonce out of range")
        if len(plaintext) + TAGLEN > MAX_MESSAGE:
            raise ValueError("a Noise message is at most 65535 bytes")
        return self._aead.encrypt(nonce_bytes(nonce), plaintext, ad)

    def encrypt_into(self, nonce: int, ad: bytes, plaintext: memoryview, out: memoryview) -> None:
        """`encrypt`, written into `out` (exactly the plaintext's length and the tag's)
        rather than into new bytes."""
        if not 0 <= nonce < MAX_NONCE:
            raise ValueError("nonce out of range")
        if len(plaintext) + TAGLEN > MAX_MESSAGE:
            raise ValueError("a Noise message is at most 65535 bytes")
        self._aead.encrypt_into(nonce_bytes(nonce), plaintext, ad, out)

    def decrypt(self, nonce: int, ad: bytes, ciphertext: bytes | memoryview) -> bytes:
        """DECRYPT(k, nonce, ad, ciphertext) (§4.2): the plaintext, or NoiseError for
        anything that does not authenticate (a nonce out of range included)."""
        if not 0 <= nonce < MAX_NONCE or not TAGLEN <= len(ciphertext) <= MAX_MESSAGE:
            raise NoiseError("does not open")
        try:
            return self._aead.decrypt(nonce_bytes(nonce), ciphertext, ad)
        except InvalidTag:
            raise NoiseError("does not open") from None


class _SymmetricState:
    """§5.2: the chaining key `ck`, the transcript hash `h`, and the handshake's cipher: a
    key (None for the spec's `empty`) and its incrementing nonce `n`."""

    def __init__(self, protocol_name: bytes) -> None:
        # InitializeSymmetric: a name of HASHLEN bytes or fewer is padded, not hashed
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name.ljust(HASHLEN, b"\0")
        else:
            self.h = _hash(protocol_name)
        self.ck = self.h
        self.k: CipherState | None = None
        self.n = 0

    def copy(self) -> _SymmetricState:
        """A copy sharing the cipher (which never changes), kept to restore a message that
        fails half way. Written out, since `copy.copy` cannot copy a compiled class."""
        twin = _SymmetricState(b"")
        twin.h, twin.ck, twin.k, twin.n = self.h, self.ck, self.k, self.n
        return twin

    def mix_key(self, input_key_material: bytes) -> None:
        self.ck, temp_k = _hkdf2(self.ck, input_key_material)
        self.k, self.n = CipherState(temp_k), 0

    def mix_hash(self, data: bytes) -> None:
        self.h = _hash(self.h, data)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        if self.k is None:
            ciphertext = plaintext
        else:
            ciphertext = self.k.encrypt(self.n, self.h, plaintext)
            self.n += 1
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        if self.k is None:
            plaintext = ciphertext
        else:
            plaintext = self.k.decrypt(self.n, self.h, ciphertext)
            self.n += 1  # not reached on failure: §5.1 keeps n then
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        """(initiator to responder, responder to initiator)."""
        k1, k2 = _hkdf2(self.ck, b"")
        return CipherState(k1), CipherState(k2)


class OtherKeys(TypedDict, total=False):
    """A `Handshake`'s keys besides its own static one, each where its pattern has them."""

    #: The peer's static public key, where the pattern's pre-message gives it.
    remote_static: bytes | None
    #: This side's ephemeral key: for test vectors only (else one is made).
    ephemeral: X25519PrivateKey | None


def _check_keys(
    pattern: str,
    initiator: bool,
    has_static: bool,
    remote_static: bytes | None,
    ephemeral: X25519PrivateKey | None,
) -> None:
    """A ValueError unless the keys given are the ones `pattern`, on the side it is, uses:
    a static key if it sends, pre-shares or uses it in a DH; a remote static key exactly
    where a pre-message gives it; an ephemeral key only where one is sent."""
    spec = PATTERNS[pattern]
    mine = range(0 if initiator else 1, len(spec.messages), 2)
    sent = {token for i in mine for token in spec.messages[i]}
    own_pre, their_pre = (
        (spec.pre_initiator, spec.pre_responder)
        if initiator
        else (spec.pre_responder, spec.pre_initiator)
    )
    # Our static key is used if we send it or pre-share it, or by a DH with it
    own_s_dh = {"ss", "se" if initiator else "es"}
    all_tokens = {token for message in spec.messages for token in message}
    uses_static = "s" in own_pre or "s" in sent or bool(own_s_dh & all_tokens)
    if has_static != uses_static:
        raise ValueError(f"{pattern}: this side's static key is {'not ' * (not uses_static)}used")
    if (remote_static is not None) != ("s" in their_pre):
        known = "s" in their_pre
        raise ValueError(f"{pattern}: the remote static key is {'not ' * (not known)}known")
    if remote_static is not None and len(remote_static) != DHLEN:
        raise ValueError("a 25519 public key is 32 bytes")
    if ephemeral is not None and "e" not in sent:
        raise ValueError(f"{pattern}: no ephemeral key sent")


class Handshake:
    """§5.3's HandshakeState for one side of one handshake: write and read its messages in
    turn, then `split()`. A message that fails to read leaves the state as it was, so a
    forged packet cannot end a genuine handshake (WireGuard likewise reads on copies)."""

    def __init__(
        self,
        pattern: str,
        *,
        initiator: bool,
        prologue: bytes,
        static: X25519PrivateKey | None,
        **keys: Unpack[OtherKeys],
    ) -> None:
        """Initialize() of §5.3. `static` is this side's key, `remote_static` the peer's
        public key where the pattern's pre-message gives it (IK, N, X initiators).
        `ephemeral` is for test vectors only. A key the pattern has no use for, or lacks, is
        a ValueError: a remote key passed to XX would otherwise go unchecked."""
        if pattern not in PATTERNS:
            raise ValueError(f"unknown handshake pattern {pattern!r}")
        remote_static = keys.get("remote_static")
        ephemeral = keys.get("ephemeral")
        _check_keys(pattern, initiator, static is not None, remote_static, ephemeral)
        self._pattern = spec = PATTERNS[pattern]
        self._initiator = initiator
        self._s = static
        self._e_given = ephemeral
        self._e: X25519PrivateKey | None = None
        self._rs = remote_static
        self._re: bytes | None = None
        self._index = 0  # of the next message pattern
        self._state = _SymmetricState(f"Noise_{pattern}_{SUITE}".encode())
        self._state.mix_hash(prologue)
        # Pre-messages (§7.1): the initiator's keys are hashed first
        for owner_initiates, tokens in ((True, spec.pre_initiator), (False, spec.pre_responder)):
            for _s in tokens:  # "s" only (PATTERNS)
                key = self._static_public() if owner_initiates == initiator else self._rs
                assert key is not None
                self._state.mix_hash(key)

    @property
    def complete(self) -> bool:
        """Whether every handshake message has been written or read."""
        return self._index == len(self._pattern.messages)

    @property
    def remote_static(self) -> bytes | None:
        """The peer's static public key: given, or learned from its "s" token (and
        authenticated once the read_message that carried it has returned)."""
        return self._rs

    @property
    def handshake_hash(self) -> bytes:
        """`h` (§5.2 GetHandshakeHash): once complete, the transcript's hash both sides share,
        for channel binding (§11.2)."""
        return self._state.h

    def write_message(self, payload: bytes) -> bytes:
        """WriteMessage() of §5.3: the next message, ending with `payload` (encrypted once
        a DH has been mixed in). Writing out of turn, or past 65535 bytes, is a ValueError;
        a DH with a low-order key that was given (remote_static) is a NoiseError."""
        tokens = self._next(writing=True)
        if tokens is None:
            raise ValueError("not this side's turn to write")
        saved = (self._state.copy(), self._e, self._re, self._rs)
        try:
            out = bytearray()
            for token in tokens:
                if token == "e":
                    given = self._e_given
                    self._e = X25519PrivateKey.generate() if given is None else given
                    e_pub = public_bytes(self._e)
                    out += e_pub
                    self._state.mix_hash(e_pub)
                elif token == "s":
                    out += self._state.encrypt_and_hash(self._static_public())
                else:
                    self._mix_dh(token)
            tag = TAGLEN if self._state.k is not None else 0
            if len(out) + len(payload) + tag > MAX_MESSAGE:
                raise ValueError("a Noise message is at most 65535 bytes")
            out += self._state.encrypt_and_hash(payload)
        except BaseException:
            self._state, self._e, self._re, self._rs = saved
            raise
        self._index += 1
        return bytes(out)

    def read_message(self, message: bytes) -> bytes:
        """ReadMessage() of §5.3: the payload of the peer's next message. NoiseError for a
        message that is out of turn, short, long, forged or altered; the state is then kept."""
        tokens = self._next(writing=False)
        if tokens is None:
            raise NoiseError("no message expected")
        if len(message) > MAX_MESSAGE:
            raise NoiseError("a Noise message is at most 65535 bytes")
        saved = (self._state.copy(), self._e, self._re, self._rs)
        try:
            rest = memoryview(message)
            for token in tokens:
                if token in ("e", "s"):
                    encrypted = token == "s" and self._state.k is not None
                    size = DHLEN + (TAGLEN if encrypted else 0)
                    if len(rest) < size:
                        raise NoiseError("message too short")
                    field, rest = bytes(rest[:size]), rest[size:]
                    if token == "e":
                        self._re = field
                        self._state.mix_hash(field)
                    else:
                        self._rs = self._state.decrypt_and_hash(field)
                else:
                    self._mix_dh(token)
            payload = self._state.decrypt_and_hash(bytes(rest))
        except BaseException:
            self._state, self._e, self._re, self._rs = saved
            raise
        self._index += 1
        return payload

    def split(self) -> tuple[CipherState, CipherState]:
        """Split() of §5.2 as (for sending, for receiving) from this side. After a one-way
        pattern (N, X) the recipient must not send with its first (§7.4)."""
        if not self.complete:
            raise ValueError("the handshake is not complete")
        to_responder, to_initiator = self._state.split()
        if self._initiator:
            return to_responder, to_initiator
        return to_initiator, to_responder

    def _next(self, *, writing: bool) -> tuple[str, ...] | None:
        """The next message pattern if it is this side's to write (or to read), else None.
        Messages alternate, the initiator's first (§7.1)."""
        if self.complete:
            return None
        initiators = self._index % 2 == 0
        if initiators != (self._initiator == writing):
            return None
        return self._pattern.messages[self._index]

    def _mix_dh(self, token: str) -> None:
        """MixKey(DH(...)) for "ee", "es", "se" or "ss": the first letter is the initiator's
        key, the second the responder's (§5.3)."""
        ours, theirs = (token[0], token[1]) if self._initiator else (token[1], token[0])
        private = self._e if ours == "e" else self._s
        public = self._re if theirs == "e" else self._rs
        assert private is not None and public is not None  # pattern validity (§7.3)
        self._state.mix_key(dh(private, public))

    def _static_public(self) -> bytes:
        assert self._s is not None  # checked in __init__
        return public_bytes(self._s)


def seal(sender: X25519PrivateKey, recipient: bytes, prologue: bytes, plaintext: bytes) -> bytes:
    """One Noise_X message (§7.4) to `recipient`'s static public key: only it can open it,
    and it learns and authenticates `sender`'s. X gives no replay protection (§7.7): the
    recipient must refuse a repeat itself. A leaked recipient key opens every past message
    to it, and forges messages to it from anyone."""
    handshake = Handshake(
        "X", initiator=True, prologue=prologue, static=sender, remote_static=recipient
    )
    return handshake.write_message(plaintext)


def open_sealed(recipient: X25519PrivateKey, prologue: bytes, sealed: bytes) -> tuple[bytes, bytes]:
    """(sender's static public key, plaintext) of a `seal`ed message with the same
    prologue, or NoiseError."""
    handshake = Handshake("X", initiator=False, prologue=prologue, static=recipient)
    plaintext = handshake.read_message(sealed)
    assert handshake.remote_static is not None
    return handshake.remote_static, plaintext
