"""A name's password (kept as a hash) and token. Nothing here raises on odd input."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

#: scrypt's cost, as the power of two of N, with r=8 and p=1 (RFC 7914, OWASP): "scrypt-17$
#: salt$hash"; a hash of no cost named ("salt$hash") was made at 2**14.
LOG2_N = 17
OLD_LOG2_N = 14
_R, _P = 8, 1
#: How scrypt's prefix names its cost.
_PREFIX = "scrypt-"


def _scrypt(password: str, salt: bytes, log2_n: int) -> bytes:
    # scrypt needs 128 * r * N bytes; hashlib refuses more than 32 MiB unless told
    memory = 128 * _R * 2**log2_n
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=2**log2_n,
        r=_R,
        p=_P,
        maxmem=memory + 2**20,
    )


def hash_password(password: str, salt: bytes) -> str:
    """A scrypt hash of `password` at today's cost, as "scrypt-17$salt$hash" in hex."""
    digest = _scrypt(password, salt, LOG2_N)
    return f"{_PREFIX}{LOG2_N}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password`, at today's cost or at
    the cost of before (see `outdated`). Anything else kept is no match."""
    parts = stored.split("$")
    today = len(parts) == 3 and parts[0] == f"{_PREFIX}{LOG2_N}"
    if today:
        parts = parts[1:]
    if len(parts) != 2:
        return False
    try:
        salt = bytes.fromhex(parts[0])
    except ValueError:
        return False
    if today:
        made = hash_password(password, salt).rpartition("$")[2]
    else:
        made = _scrypt(password, salt, OLD_LOG2_N).hex()
    return same_secret(made, parts[1])


#: What stands for the hash of a name with no password, to `proven`: checked against a
#: hash no password matches, so that nothing tells whether a name has a password.
NO_PASSWORD = "none"


@functools.cache
def _no_password() -> str:
    """A hash no password matches (of random bytes no one knows)."""
    return hash_password(secrets.token_hex(32), secrets.token_bytes(16))


def proven(password: str, stored: str, salt: bytes) -> str:
    """The one costly step of a registration with a password, run off the registry's
    thread: the hash to keep for the name ("": no match). `stored` is the name's hash
    (NO_PASSWORD: none; "": a new name, hashed with `salt`); one of an older cost is
    made again with `salt`."""
    if not stored:
        return hash_password(password, salt)
    if not check_password(password, _no_password() if stored == NO_PASSWORD else stored):
        return ""
    return hash_password(password, salt) if outdated(stored) else stored


def outdated(stored: str) -> bool:
    """Whether the password hash `stored` was made at a cost below today's."""
    return bool(stored) and not stored.startswith(f"{_PREFIX}{LOG2_N}$")


def same_secret(given: str, kept: str) -> bool:
    """Whether `given` is `kept`, compared in constant time (as bytes: any text)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), kept.encode("utf-8", "surrogatepass")
    )


#: How a kept token begins that is the hash of the token, not the token itself.
TOKEN_HASH = "sha256:"


def token_hash(token: str) -> str:
    """What the registry keeps of a token (128 random bits): its SHA-256."""
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return TOKEN_HASH + digest


def token_matches(given: str, kept: str) -> bool:
    """Whether `given` is the token `kept` stands for, in constant time ("": no)."""
    if not given or not kept:
        return False
    if kept.startswith(TOKEN_HASH):
        return same_secret(token_hash(given), kept)
    return same_secret(given, kept)
