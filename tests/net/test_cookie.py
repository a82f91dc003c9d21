"""WireGuard's MACs and cookies (secure/cookie.py): mac1 binds a message to its receiver's
key, a cookie to a source address and the secret of the last two minutes, a cookie reply to
the initiation it answers."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from secure import cookie
from secure.cookie import COOKIE_REFRESH, COOKIE_REPLY_BODY, MAC_SIZE, CookieChecker

A = ("10.0.0.1", 6001)


def _public() -> bytes:
    return X25519PrivateKey.generate().public_key().public_bytes_raw()


RESPONDER = _public()
MESSAGE = os.urandom(113)
INDEX = bytes([1, 2, 3, 4])


def _cookie_for(checker: CookieChecker, addr: tuple[str, int], now: float) -> bytes:
    """What an initiator learns from a cookie reply to an initiation from `addr`."""
    sent = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), None)
    body = checker.reply(sent, INDEX, cookie.source_bytes(addr), now)
    got = cookie.open_cookie(body, RESPONDER, cookie.mac1_of(sent))
    assert got is not None
    return got


def test_the_macs_are_wireguards_keyed_blake2s_128() -> None:
    key = hashlib.blake2s(b"mac1----" + RESPONDER).digest()
    sent = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), None)
    mac1 = hashlib.blake2s(MESSAGE, key=key, digest_size=16).digest()
    assert sent == MESSAGE + mac1 + bytes(16)  # no cookie: mac2 is zeros
    assert cookie.cookie_key(RESPONDER) == hashlib.blake2s(b"cookie--" + RESPONDER).digest()


def test_mac1_is_valid_for_its_receivers_key_only() -> None:
    sent = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), None)
    assert CookieChecker(RESPONDER).mac1_ok(sent)
    assert not CookieChecker(_public()).mac1_ok(sent)


@given(st.integers(min_value=0, max_value=len(MESSAGE) + MAC_SIZE - 1), st.integers(1, 255))
def test_any_altered_byte_before_mac2_makes_mac1_invalid(position: int, flip: int) -> None:
    sent = bytearray(cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), None))
    sent[position] ^= flip
    assert not CookieChecker(RESPONDER).mac1_ok(bytes(sent))


def test_a_cookie_makes_a_valid_mac2_from_its_own_address_only() -> None:
    checker = CookieChecker(RESPONDER)
    got = _cookie_for(checker, A, 0.0)
    sent = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), got)
    assert checker.mac2_ok(sent, cookie.source_bytes(A), 1.0)
    assert not checker.mac2_ok(sent, cookie.source_bytes(("10.0.0.2", 6001)), 1.0)  # another IP
    assert not checker.mac2_ok(sent, cookie.source_bytes(("10.0.0.1", 6002)), 1.0)  # another port
    without = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), None)
    assert not checker.mac2_ok(without, cookie.source_bytes(A), 1.0)


def test_the_cookie_secret_is_made_anew_after_two_minutes() -> None:
    checker = CookieChecker(RESPONDER)
    old = _cookie_for(checker, A, 0.0)
    sent = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), old)
    assert checker.mac2_ok(sent, cookie.source_bytes(A), COOKIE_REFRESH)
    assert not checker.mac2_ok(
        sent, cookie.source_bytes(A), COOKIE_REFRESH + 0.1
    )  # the secret is too old
    new = _cookie_for(checker, A, COOKIE_REFRESH + 0.1)  # a reply makes a new secret
    assert new != old
    assert not checker.mac2_ok(sent, cookie.source_bytes(A), COOKIE_REFRESH + 0.2)
    sent = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), new)
    assert checker.mac2_ok(sent, cookie.source_bytes(A), COOKIE_REFRESH + 0.2)


def test_a_cookie_reply_is_small_and_opens_for_the_initiation_it_answers_only() -> None:
    checker = CookieChecker(RESPONDER)
    sent = cookie.add_macs(MESSAGE, cookie.mac1_key(RESPONDER), None)
    body = checker.reply(sent, INDEX, cookie.source_bytes(A), 0.0)
    assert len(body) == COOKIE_REPLY_BODY == 60 and body[:4] == INDEX
    assert cookie.open_cookie(body, RESPONDER, cookie.mac1_of(sent)) is not None
    other = cookie.add_macs(os.urandom(113), cookie.mac1_key(RESPONDER), None)
    assert cookie.open_cookie(body, RESPONDER, cookie.mac1_of(other)) is None
    assert cookie.open_cookie(body, _public(), cookie.mac1_of(sent)) is None  # another key
    altered = body[:-1] + bytes([body[-1] ^ 1])
    assert cookie.open_cookie(altered, RESPONDER, cookie.mac1_of(sent)) is None
    assert cookie.open_cookie(body[:-1], RESPONDER, cookie.mac1_of(sent)) is None
