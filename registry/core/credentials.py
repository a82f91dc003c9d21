"""A name's password (kept as an SRP-6a verifier) and token. Nothing here raises on odd input."""

from __future__ import annotations

import hashlib
import hmac

#: What stands for the password of a name with none: checked against a verifier no
#: password matches (secure.password.made_up), so that nothing tells whether it has one.
NO_PASSWORD = "none"


def same_secret(given: str, kept: str) -> bool:
    """Whether `given` is `kept`, in constant time."""
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
