"""The secrets that prove a name is one's own: its password, kept as a hash, and its token.

Pure: no clock, no files. The registry asks these when a registration, dereg, keepalive or
any other request names a name (registry/authority.py and registry/registration.py decide
what each answer means). Both kinds of secret come from the network, and a kept one may
come from a file a person edited, so nothing here raises on odd input: it is no match.
"""

from __future__ import annotations

import hashlib
import hmac


def hash_password(password: str, salt: bytes) -> str:
    """A scrypt hash of `password` as "salt$hash" in hex."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"{salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password`."""
    salt_hex, _, digest_hex = stored.partition("$")
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return same_secret(hash_password(password, salt).partition("$")[2], digest_hex)


def same_secret(given: str, kept: str) -> bool:
    """Whether `given` is `kept`, compared in constant time. As bytes: compare_digest
    refuses str holding anything but ASCII (a TypeError), and `given` comes from the
    network (a token), `kept` from a file a person may have edited."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), kept.encode("utf-8", "surrogatepass")
    )


#: How a kept token begins that is the hash of the token, not the token itself.
TOKEN_HASH = "sha256:"


def token_hash(token: str) -> str:
    """What the registry keeps of a token: its SHA-256, so that a stolen table file gives
    no token. (A token is 128 random bits: a fast hash is enough, unlike a password.)"""
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return TOKEN_HASH + digest


def token_matches(given: str, kept: str) -> bool:
    """Whether `given` is the token `kept` stands for: its hash, or (a table kept before
    tokens were hashed) the token itself. Constant time; "" never matches."""
    if not given or not kept:
        return False
    if kept.startswith(TOKEN_HASH):
        return same_secret(token_hash(given), kept)
    return same_secret(given, kept)
