"""A name's password as an augmented PAKE: SRP-6a of the `srp` package as published (RFC 5054's
2048-bit group, SHA-256, RFC 5054 padding), over a scrypt hash the client makes itself. The
registry keeps a verifier; the password, and its scrypt hash, never leave the user's machine
(docs/SECURITY.md, "Passwords").

The SRP "password" is the hex scrypt hash of the password under the name's scrypt salt, and
the SRP identity binds the exchange to the secure channel: the name with both static keys of
the channel (`identity`). The library leaves the identity out of x (`no_username_in_x`), so a
verifier serves every channel, while M, which hashes the identity, holds for this one only."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import srp

from wire.names import name_key

srp.rfc5054_enable()  # k and u over padded values, as RFC 5054 computes them
srp.no_username_in_x()  # x = H(s | H(":" | P)): the identity (with the channel) only in M
HASH = srp.SHA256
GROUP = srp.NG_2048
#: scrypt's cost as the power of two of N, with r=8, p=1 (RFC 7914, OWASP): some 0.3 s and
#: 128 MiB, spent by the client. A hash kept by an older registry at 2**14 keeps its cost.
LOG2_N = 17
OLD_LOG2_N = 14
#: The costs a client accepts from a registry: below, an impostor's guesses would be cheap;
#: above, a registry could make the client spend more than 256 MiB on one login.
MIN_LOG2_N, MAX_LOG2_N = OLD_LOG2_N, 18
_R, _P = 8, 1
SALT_BYTES = 16
#: Characters a password set for a new name has at least (one given for a name that has
#: its password already is taken whatever its length).
MIN_LENGTH = 8
#: How a stored verifier begins: "srp-<log2 N>$<scrypt salt>$<SRP salt>$<verifier>", in hex.
PREFIX = "srp-"


def scrypt_hex(password: str, salt: bytes, log2_n: int) -> str:
    """scrypt(`password`, `salt`) at cost 2**`log2_n`, in hex."""
    memory = 128 * _R * 2**log2_n  # hashlib refuses more than 32 MiB unless told
    digest = hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=2**log2_n,
        r=_R,
        p=_P,
        maxmem=memory + 2**20,
    )
    return digest.hex()


def identity(name: str, client: bytes, registry: bytes) -> bytes:
    """The SRP identity of `name` over the channel between the keys `client` and
    `registry`: a proof made for one channel fails on any other."""
    return b"ChatApp SRP-6a|" + name_key(name).encode() + b"|" + client + b"|" + registry


def verifier_of(scrypted: str, log2_n: int, scrypt_salt: bytes) -> str:
    """What the registry keeps for the password whose scrypt hash is `scrypted`."""
    salt, v = srp.create_salted_verification_key(
        b"", scrypted.encode(), HASH, GROUP, salt_len=SALT_BYTES
    )
    return f"{PREFIX}{log2_n}${scrypt_salt.hex()}${salt.hex()}${v.hex()}"


def new_verifier(password: str) -> str:
    """The client's side of setting a password: a verifier under fresh salts (0.3 s)."""
    scrypt_salt = secrets.token_bytes(SALT_BYTES)
    return verifier_of(scrypt_hex(password, scrypt_salt, LOG2_N), LOG2_N, scrypt_salt)


class Stored:
    """A kept verifier taken apart; `parse` gives None for anything else."""

    def __init__(self, log2_n: int, scrypt_salt: bytes, salt: bytes, v: bytes) -> None:
        self.log2_n, self.scrypt_salt, self.salt, self.v = log2_n, scrypt_salt, salt, v

    @classmethod
    def parse(cls, text: str) -> Stored | None:
        parts = text.removeprefix(PREFIX).split("$")
        if not text.startswith(PREFIX) or len(parts) != 4 or not cost_ok(parts[0]):
            return None
        try:
            scrypt_salt, salt, v = (bytes.fromhex(p) for p in parts[1:])
        except ValueError:
            return None
        if not (scrypt_salt and salt and 0 < len(v) <= 256):
            return None
        return cls(int(parts[0]), scrypt_salt, salt, v)

    @property
    def scrypt(self) -> str:
        """How the client hashes the password first: "<log2 N>$<salt hex>"."""
        return f"{self.log2_n}${self.scrypt_salt.hex()}"


def made_up(secret: bytes, name: str) -> Stored:
    """A verifier no password matches, for a name without one, the same for the name each
    time under `secret`: asked of, it answers as a name with a password does."""
    key = name_key(name).encode()

    def part(label: bytes, size: int) -> bytes:
        out, block = b"", 0
        while len(out) < size:
            block += 1
            out += hmac.digest(secret, label + bytes((block,)) + key, "sha256")
        return out[:size]

    return Stored(
        LOG2_N, part(b"scrypt salt", SALT_BYTES), part(b"salt", SALT_BYTES), part(b"v", 255)
    )


class Challenge:
    """The registry's side of one exchange: `session` (the library's Verifier, opaque to the
    core), and what the client is sent: `scrypt`, `salt` and `public` (B), in hex."""

    def __init__(self, session: Any, scrypt: str, salt: str, public: str) -> None:
        self.session, self.scrypt, self.salt, self.public = session, scrypt, salt, public
        #: what the registry keeps from now on, when the exchange replaced what it kept
        self.stored = ""


def challenge(stored: Stored, ident: bytes) -> Challenge:
    """Begin an exchange for `ident` against `stored` (B before A, as RFC 5054 orders it)."""
    session = srp.Verifier(ident, stored.salt, stored.v, None, HASH, GROUP)
    salt, public = session.get_challenge()
    return Challenge(session, stored.scrypt, salt.hex(), public.hex())


def verify(session: Any, proof: str) -> bool:
    """Whether `proof` ("<A hex>$<M hex>", `prove`'s) answers the challenge of `session`."""
    client_public, _, m = proof.partition("$")
    try:
        a_bytes, m_bytes = bytes.fromhex(client_public), bytes.fromhex(m)
    except ValueError:
        return False
    if not a_bytes or len(a_bytes) > 256 or len(m_bytes) != 32:
        return False
    return session.verify_session(m_bytes, a_bytes) is not None


def prove(password: str, ident: bytes, scrypt: str, salt: str, public: str) -> str:
    """The client's answer to a challenge ("<A hex>$<M hex>"), "" when it cannot be answered
    (odd fields, or B fails SRP-6a's check). Costs a scrypt hash (0.3 s)."""
    cost, _, scrypt_salt = scrypt.partition("$")
    try:
        log2_n, salt_bytes = int(cost), bytes.fromhex(salt)
        scrypt_bytes, b_bytes = bytes.fromhex(scrypt_salt), bytes.fromhex(public)
    except ValueError:
        return ""
    if not cost_ok(cost) or not (scrypt_bytes and salt_bytes and b_bytes):
        return ""
    user = srp.User(ident, scrypt_hex(password, scrypt_bytes, log2_n).encode(), HASH, GROUP)
    _, a_bytes = user.start_authentication()
    m = user.process_challenge(salt_bytes, b_bytes)
    return "" if m is None else f"{a_bytes.hex()}${m.hex()}"


def cost_ok(text: str) -> bool:
    """Whether `text` names a scrypt cost within MIN_LOG2_N..MAX_LOG2_N."""
    return text.isdigit() and MIN_LOG2_N <= int(text) <= MAX_LOG2_N
