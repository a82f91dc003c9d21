"""The Noise Protocol Framework, revision 34 (https://noiseprotocol.org/noise.html), sans-IO:
Noise_IK_25519_AESGCM_SHA256 and Noise_X_25519_ChaChaPoly_SHA256 from pyca `cryptography`
primitives. § numbers are the spec's. `CipherState` takes the nonce from its caller, as
out-of-order transport does (§11.4, WireGuard); during the handshake `Handshake` keeps
the `n` that increments."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DHLEN = 32  # §12.1
HASHLEN = 32  # §12.5
TAGLEN = 16  # §4.2
MAX_MESSAGE = 65535  # §3: every Noise message, handshake or transport
MAX_NONCE = 2**64 - 1  # §5.1: reserved, never used to encrypt or decrypt


class NoiseError(Exception):
    """Any input that does not open or fit the handshake."""


#: The patterns ChatApp speaks (§7.4 one-way X, sealed mail; §7.5 IK, the secure channel):
#: their message patterns, alternating from the initiator's (§7.1). Both pre-share the
#: responder's static key ("<- s"), and both sides have a static key.
PATTERNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "X": (("e", "es", "s", "ss"),),
    "IK": (("e", "es", "s", "ss"), ("e", "ee", "se")),
}


def public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def dh(private: X25519PrivateKey, public: bytes) -> bytes:
    """DH (§12.1), the one place a handshake does one (the tests count them here). A
    low-order public key, which OpenSSL refuses, is a NoiseError (§12.1 allows it)."""
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
    """HKDF(ck, ikm, 2) of §4.3: RFC 5869's, `ck` the salt, no info."""
    out = HKDF(hashes.SHA256(), 2 * HASHLEN, chaining_key, b"").derive(input_key_material)
    return out[:HASHLEN], out[HASHLEN:]


#: §12.4's AESGCM nonce: 32 bits of zeros, then n big-endian (§12.3's ChaChaPoly: little).
nonce_bytes: Final = struct.Struct(">4xQ").pack
#: Each pattern's cipher (§12): IK, the live channel and stream, AESGCM, whose call costs a
#: third of ChaChaPoly's with the AES instructions of today's processors; X, sealed mail and
#: records kept on disk, ChaChaPoly still, so that what was sealed before opens.
CIPHERS: Final = {"IK": "AESGCM", "X": "ChaChaPoly"}
AEAD = AESGCM | ChaCha20Poly1305  # either cipher's pyca AEAD
_AEADS: Final[dict[str, tuple[type[AEAD], Callable[[int], bytes]]]] = {
    "AESGCM": (AESGCM, nonce_bytes),
    "ChaChaPoly": (ChaCha20Poly1305, struct.Struct("<4xQ").pack),
}


def protocol_name(pattern: str) -> bytes:
    """§8's name of `pattern` as ChatApp speaks it, such as Noise_IK_25519_AESGCM_SHA256."""
    return f"Noise_{pattern}_25519_{CIPHERS[pattern]}_SHA256".encode()


#: The live channel's protocol, which a registry's key answer names after its key (an older
#: ChatApp's names none): a peer tells a registry of another version from a silent one.
CHANNEL_PROTOCOL: Final = protocol_name("IK")


class CipherState:
    """One direction's transport key (§5.1) for `cipher` ("AESGCM" or "ChaChaPoly"), the
    nonce given per call (§11.4): the sender never uses one twice, and the receiver
    refuses a repeat itself."""

    __slots__ = ("_nonce", "aead")

    def __init__(self, key: bytes, cipher: str) -> None:
        if len(key) != 32:
            raise ValueError("a cipher key is 32 bytes")
        aead, self._nonce = _AEADS[cipher]
        #: The AEAD itself, for a transport that makes each nonce with `nonce_bytes` (an
        #: AESGCM state's) and checks nonces and sizes itself.
        self.aead: AEAD = aead(key)

    def encrypt(self, nonce: int, ad: bytes, plaintext: bytes) -> bytes:
        """ENCRYPT (§4.2): ValueError for a nonce out of range or a message too long."""
        _check_sizes(nonce, len(plaintext))
        return self.aead.encrypt(self._nonce(nonce), plaintext, ad)

    def encrypt_into(self, nonce: int, ad: bytes, plaintext: memoryview, out: memoryview) -> None:
        """`encrypt`, written into `out` (the plaintext's length and the tag's)."""
        _check_sizes(nonce, len(plaintext))
        self.aead.encrypt_into(self._nonce(nonce), plaintext, ad, out)

    def decrypt(self, nonce: int, ad: bytes, ciphertext: bytes | memoryview) -> bytes:
        """DECRYPT (§4.2), or NoiseError (a nonce out of range too)."""
        if not 0 <= nonce < MAX_NONCE or not TAGLEN <= len(ciphertext) <= MAX_MESSAGE:
            raise NoiseError("does not open")
        try:
            return self.aead.decrypt(self._nonce(nonce), ciphertext, ad)
        except InvalidTag:
            raise NoiseError("does not open") from None


def _check_sizes(nonce: int, plaintext: int) -> None:
    if not 0 <= nonce < MAX_NONCE:
        raise ValueError("nonce out of range")
    if plaintext + TAGLEN > MAX_MESSAGE:
        raise ValueError("a Noise message is at most 65535 bytes")


def _check_keys(pattern: str, initiator: bool, remote_static: bytes | None) -> None:
    """A ValueError unless the keys given are the ones `pattern`, on this side, uses (a key
    given but unused would go unchecked)."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown handshake pattern {pattern!r}")
    if (remote_static is not None) != initiator:
        raise ValueError(f"{pattern}: only the initiator knows the remote static key")
    if remote_static is not None and len(remote_static) != DHLEN:
        raise ValueError("a 25519 public key is 32 bytes")


class Handshake:
    """§5.3's HandshakeState for one side, with its §5.2 SymmetricState: the chaining key
    `_ck`, the transcript hash `_h`, and the handshake's cipher, a key `_k` (None for the
    spec's `empty`) and its nonce `_n`. Write and read its messages in turn, then `split()`.
    A message that fails to read leaves the state as it was: a forged packet cannot end a
    genuine handshake."""

    def __init__(
        self,
        pattern: str,
        *,
        initiator: bool,
        prologue: bytes,
        static: X25519PrivateKey,
        remote_static: bytes | None = None,  # the responder's: the initiator's pre-message
    ) -> None:
        _check_keys(pattern, initiator, remote_static)
        self._messages = PATTERNS[pattern]
        self._initiator = initiator
        self._s = static
        #: The ephemeral key to send, set by test vectors alone (None: a new one).
        self.ephemeral: X25519PrivateKey | None = None
        self._e: X25519PrivateKey | None = None
        self._rs = remote_static
        self._re: bytes | None = None
        self._index = 0  # of the next message pattern
        self._cipher = CIPHERS[pattern]
        # InitializeSymmetric: a name of HASHLEN bytes or fewer is padded, not hashed
        name = protocol_name(pattern)
        self._h = name.ljust(HASHLEN, b"\0") if len(name) <= HASHLEN else _hash(name)
        self._ck = self._h
        self._k: CipherState | None = None
        self._n = 0
        self._mix_hash(prologue)
        # the pre-message (§7.1): the responder's static key
        self._mix_hash(self._rs if self._rs is not None else public_bytes(static))

    @property
    def complete(self) -> bool:
        return self._index == len(self._messages)

    @property
    def remote_static(self) -> bytes | None:
        """The peer's static public key: given, or learned from its "s" token (authenticated
        once its read_message has returned)."""
        return self._rs

    @property
    def handshake_hash(self) -> bytes:
        """§5.2 GetHandshakeHash."""
        return self._h

    def write_message(self, payload: bytes) -> bytes:
        """WriteMessage() of §5.3. ValueError out of turn or too long; NoiseError for a
        low-order `remote_static`."""
        tokens = self._next(writing=True)
        if tokens is None:
            raise ValueError("not this side's turn to write")
        saved = (self._h, self._ck, self._k, self._n, self._e, self._re, self._rs)
        try:
            out = bytearray()
            for token in tokens:
                if token == "e":
                    given = self.ephemeral
                    self._e = X25519PrivateKey.generate() if given is None else given
                    e_pub = public_bytes(self._e)
                    out += e_pub
                    self._mix_hash(e_pub)
                elif token == "s":
                    out += self._encrypt_and_hash(public_bytes(self._s))
                else:
                    self._mix_dh(token)
            tag = TAGLEN if self._k is not None else 0
            if len(out) + len(payload) + tag > MAX_MESSAGE:
                raise ValueError("a Noise message is at most 65535 bytes")
            out += self._encrypt_and_hash(payload)
        except BaseException:
            self._h, self._ck, self._k, self._n, self._e, self._re, self._rs = saved
            raise
        self._index += 1
        return bytes(out)

    def read_message(self, message: bytes) -> bytes:
        """ReadMessage() of §5.3: the payload, or NoiseError, the state kept."""
        tokens = self._next(writing=False)
        if tokens is None:
            raise NoiseError("no message expected")
        if len(message) > MAX_MESSAGE:
            raise NoiseError("a Noise message is at most 65535 bytes")
        saved = (self._h, self._ck, self._k, self._n, self._e, self._re, self._rs)
        try:
            rest = memoryview(message)
            for token in tokens:
                if token in ("e", "s"):
                    encrypted = token == "s" and self._k is not None
                    size = DHLEN + (TAGLEN if encrypted else 0)
                    if len(rest) < size:
                        raise NoiseError("message too short")
                    field, rest = bytes(rest[:size]), rest[size:]
                    if token == "e":
                        self._re = field
                        self._mix_hash(field)
                    else:
                        self._rs = self._decrypt_and_hash(field)
                else:
                    self._mix_dh(token)
            payload = self._decrypt_and_hash(bytes(rest))
        except BaseException:
            self._h, self._ck, self._k, self._n, self._e, self._re, self._rs = saved
            raise
        self._index += 1
        return payload

    def split(self) -> tuple[CipherState, CipherState]:
        """Split() of §5.2 as (for sending, for receiving); after X the recipient must not
        send (§7.4)."""
        if not self.complete:
            raise ValueError("the handshake is not complete")
        k1, k2 = _hkdf2(self._ck, b"")
        to_responder, to_initiator = CipherState(k1, self._cipher), CipherState(k2, self._cipher)
        if self._initiator:
            return to_responder, to_initiator
        return to_initiator, to_responder

    def _next(self, *, writing: bool) -> tuple[str, ...] | None:
        if self.complete:
            return None
        initiators = self._index % 2 == 0
        if initiators != (self._initiator == writing):
            return None
        return self._messages[self._index]

    def _mix_dh(self, token: str) -> None:
        ours, theirs = (token[0], token[1]) if self._initiator else (token[1], token[0])
        private = self._e if ours == "e" else self._s
        public = self._re if theirs == "e" else self._rs
        assert private is not None and public is not None  # pattern validity (§7.3)
        # MixKey
        self._ck, temp_k = _hkdf2(self._ck, dh(private, public))
        self._k, self._n = CipherState(temp_k, self._cipher), 0

    def _mix_hash(self, data: bytes) -> None:
        self._h = _hash(self._h, data)

    def _encrypt_and_hash(self, plaintext: bytes) -> bytes:
        if self._k is None:
            ciphertext = plaintext
        else:
            ciphertext = self._k.encrypt(self._n, self._h, plaintext)
            self._n += 1
        self._mix_hash(ciphertext)
        return ciphertext

    def _decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        if self._k is None:
            plaintext = ciphertext
        else:
            plaintext = self._k.decrypt(self._n, self._h, ciphertext)
            self._n += 1  # not reached on failure: §5.1 keeps n then
        self._mix_hash(ciphertext)
        return plaintext


def seal(sender: X25519PrivateKey, recipient: bytes, prologue: bytes, plaintext: bytes) -> bytes:
    """One Noise_X message (§7.4) to `recipient`: no replay protection (§7.7), and a leaked
    recipient key opens every past message to it."""
    handshake = Handshake(
        "X", initiator=True, prologue=prologue, static=sender, remote_static=recipient
    )
    return handshake.write_message(plaintext)


def open_sealed(recipient: X25519PrivateKey, prologue: bytes, sealed: bytes) -> tuple[bytes, bytes]:
    """(the sender's static public key, plaintext), or NoiseError."""
    handshake = Handshake("X", initiator=False, prologue=prologue, static=recipient)
    plaintext = handshake.read_message(sealed)
    assert handshake.remote_static is not None
    return handshake.remote_static, plaintext
