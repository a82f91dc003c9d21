"""Public keys as the wire and people see them: text for the table, digits to read aloud.

Pure: the key pairs themselves, and the files that keep them, are `secure.keys`'.
"""

from __future__ import annotations

import base64
import functools
import hashlib

#: Bytes of a public key (X25519).
KEY_BYTES = 32


#: How many keys' texts `key_text` keeps (all forgotten at once past it: a few MB at most).
TEXTS_KEPT = 4096
_texts: dict[bytes, str] = {}


def key_text(public: bytes) -> str:
    """A public key as the table and files carry it: unpadded URL-safe base64 (43 chars).
    Remembered in a dict, cheaper to ask than a cache's wrapper: the registry names the
    key of every datagram it reads."""
    text = _texts.get(public)
    if text is None:
        if len(_texts) >= TEXTS_KEPT:
            _texts.clear()
        text = _texts[public] = base64.urlsafe_b64encode(public).rstrip(b"=").decode("ascii")
    return text


@functools.lru_cache(maxsize=4096)
def key_from_text(text: str) -> bytes | None:
    """The public key `key_text` made, or None when `text` is not one. Remembered: the
    same few keys are looked up for every message sent and shown."""
    if len(text) != 43:
        return None
    try:
        public = base64.urlsafe_b64decode(text + "=")
    except ValueError:
        return None
    return public if len(public) == KEY_BYTES and key_text(public) == text else None


def fingerprint(public: bytes) -> str:
    """A key as people compare it, reading aloud: six groups of five digits (about 100
    bits), each group five bytes of the key's SHA-256 taken modulo 100,000, as Signal's
    safety numbers are made."""
    digest = hashlib.sha256(b"ChatApp key fingerprint\0" + public).digest()
    groups = (int.from_bytes(digest[i : i + 5], "big") % 100_000 for i in range(0, 30, 5))
    return " ".join(f"{group:05d}" for group in groups)


#: Digits in a fingerprint, and so in a join code.
CODE_DIGITS = 30


def join_code(public: bytes) -> str:
    """The registry's join code (--registry-key): its fingerprint, groups joined by dashes."""
    return fingerprint(public).replace(" ", "-")


def code_from_text(text: str) -> str | None:
    """The 30 digits of a join code or fingerprint as typed (spaces and dashes between
    them do not matter), or None when `text` is not one."""
    digits = "".join(text.replace("-", " ").split())
    return digits if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit() else None


def has_code(public: bytes, code: str) -> bool:
    """Whether `public` is the key whose fingerprint's digits are `code`."""
    return fingerprint(public).replace(" ", "") == code
