"""WireGuard's handshake MACs and cookies (the WireGuard paper, 5.3 and 5.4.7; wireguard-go's
device/cookie.go), sans-IO. XChaCha20-Poly1305 is PyNaCl's, imported only under load.

A responder is under load on a rate rather than wireguard-go's queue (`IsUnderLoad`): the
initiations with a valid mac1 beyond LOAD_RATE a second, and UNDER_LOAD_FOR after. Under
load, only an initiation with a valid mac2 gets a handshake, each IP address at most
SOURCE_RATE a second.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
from collections.abc import Callable

from wire.token_bucket import FULL, BucketRule, FloodGate

Addr = tuple[str, int]

#: Bytes of a MAC (mac1, mac2) and of a cookie: WireGuard's BLAKE2s-128.
MAC_SIZE = 16
#: Bytes both MACs add at the end of a message.
MACS_SIZE = 2 * MAC_SIZE
#: Seconds a cookie secret is used, and a cookie kept (WireGuard's CookieRefreshTime).
COOKIE_REFRESH = 120.0
#: A cookie reply's body: the initiation's index, a random 24-byte nonce, the sealed cookie.
NONCE_SIZE = 24
COOKIE_REPLY_BODY = 4 + NONCE_SIZE + MAC_SIZE + 16
_NO_MAC2 = bytes(MAC_SIZE)


def _hash(label: bytes, public: bytes) -> bytes:
    return hashlib.blake2s(label + public).digest()


def mac(key: bytes, data: bytes) -> bytes:
    return hashlib.blake2s(data, key=key, digest_size=MAC_SIZE).digest()


def mac1_key(public: bytes) -> bytes:
    return _hash(b"mac1----", public)


def cookie_key(public: bytes) -> bytes:
    return _hash(b"cookie--", public)


def source_bytes(addr: Addr) -> bytes:
    """An address as a cookie binds it: 4 bytes of IPv4, 2 of port, little-endian (as
    wireguard-go's AddrPort.MarshalBinary)."""
    return socket.inet_aton(addr[0]) + addr[1].to_bytes(2, "little")


def add_macs(message: bytes, mac1: bytes, cookie: bytes | None) -> bytes:
    """`message` with its mac1 and its mac2 (zeros without a `cookie`) after it."""
    with_mac1 = message + mac(mac1, message)
    return with_mac1 + (_NO_MAC2 if cookie is None else mac(cookie, with_mac1))


def mac1_of(datagram: bytes) -> bytes:
    return datagram[-MACS_SIZE:-MAC_SIZE]


def open_cookie(body: bytes, public: bytes, mac1: bytes) -> bytes | None:
    """The cookie a cookie reply's `body` brings from the holder of `public`, answering the
    initiation whose mac1 was `mac1`, or None."""
    if len(body) != COOKIE_REPLY_BODY:
        return None
    from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
    from nacl.exceptions import CryptoError

    nonce, sealed = body[4 : 4 + NONCE_SIZE], body[4 + NONCE_SIZE :]
    try:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, mac1, nonce, cookie_key(public))
    except CryptoError:
        return None


#: Initiations a second, on average and at once, a responder answers without cookies. A
#: full handshake costs a responder some 0.5 ms: this is a few percent of a CPU.
LOAD_RATE = 50.0
LOAD_BURST = 100.0
#: Seconds a responder stays under load after an initiation over its rate (WireGuard's
#: UnderLoadAfterTime).
UNDER_LOAD_FOR = 1.0
#: Handshakes one IP address may make a second under load, and at once (WireGuard's
#: ratelimiter: packetsPerSecond, packetsBurstable).
SOURCE_RATE = 20.0
SOURCE_BURST = 5.0


class CookieChecker:
    """A responder's side: checks the MACs of what comes to `public`, makes cookies from a
    secret made anew every COOKIE_REFRESH seconds (of `now`, a monotonic clock), and keeps
    its load and the budget of each source address under load."""

    def __init__(self, public: bytes, random: Callable[[int], bytes] = os.urandom):
        self.mac1_key = mac1_key(public)
        self._cookie_key = cookie_key(public)
        self._random = random
        self._secret = b""
        self._secret_made = float("-inf")
        self._load = BucketRule(LOAD_RATE, LOAD_BURST)
        self._load_due = FULL
        self._loaded_until = float("-inf")
        #: Each source address's budget of handshakes under load (`take(ip, now)`).
        self.sources = FloodGate(SOURCE_RATE, SOURCE_BURST)

    def mac1_ok(self, datagram: bytes) -> bool:
        return hmac.compare_digest(mac(self.mac1_key, datagram[:-MACS_SIZE]), mac1_of(datagram))

    def mac2_ok(self, datagram: bytes, source: bytes, now: float) -> bool:
        """Whether `datagram`'s mac2 is valid for the cookie of `source`, under a secret
        younger than COOKIE_REFRESH."""
        if now - self._secret_made > COOKIE_REFRESH:
            return False
        cookie = mac(self._secret, source)
        return hmac.compare_digest(mac(cookie, datagram[:-MAC_SIZE]), datagram[-MAC_SIZE:])

    def reply(self, datagram: bytes, index: bytes, source: bytes, now: float) -> bytes:
        """The body of a cookie reply to `datagram`, the initiation `index`, from `source`."""
        if now - self._secret_made > COOKIE_REFRESH:
            self._secret, self._secret_made = self._random(32), now
        from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

        cookie = mac(self._secret, source)
        nonce = self._random(NONCE_SIZE)
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
            cookie, mac1_of(datagram), nonce, self._cookie_key
        )
        return index + nonce + sealed

    def under_load(self, now: float) -> bool:
        """Count one initiation with a valid mac1: whether the responder is under load."""
        taken, self._load_due = self._load.take(self._load_due, now)
        if not taken:
            self._loaded_until = now + UNDER_LOAD_FOR
        return now < self._loaded_until
