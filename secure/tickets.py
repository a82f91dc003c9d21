"""Mailbox tickets: what a mailbox's owner hands those it writes to, so that the registry
counts their saves as a correspondent's, not a stranger's (docs/SECURITY.md).

A ticket is HMAC-SHA256 (RFC 2104), keyed with a secret the registry gives the owner, of
the holder's static public key. The registry, which keeps the secret, checks a save's
ticket against the key that sealed the save; it learns of a correspondent only when that
one saves. Pure: nothing here raises on odd input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string

from wire.keys import key_from_text

#: Characters of a ticket: 32 bytes of HMAC-SHA256 in unpadded URL-safe base64.
TICKET_CHARS = 43


def ticket(secret: str, holder: str) -> str:
    """The ticket of `holder` (a key's text) for the owner of `secret` ("": either unusable)."""
    key = key_from_text(holder)
    if not secret or key is None:
        return ""
    mac = hmac.new(secret.encode("utf-8", "surrogatepass"), key, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def vouches(secret: str, holder: str, given: str) -> bool:
    """Whether `given` is `holder`'s ticket for the owner of `secret`, compared in constant time."""
    if len(given) != TICKET_CHARS or not given.isascii():
        return False
    kept = ticket(secret, holder)
    return bool(kept) and hmac.compare_digest(kept.encode(), given.encode())


#: The characters of unpadded URL-safe base64.
_BASE64 = frozenset(string.ascii_letters + string.digits + "-_")


def plausible(given: str) -> bool:
    """Whether `given` could be a ticket (what a peer keeps of what another hands it)."""
    return len(given) == TICKET_CHARS and _BASE64.issuperset(given)
