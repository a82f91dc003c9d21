"""Which registry records found on the network (net/discovery.py) hold what they say: at the
address and port a record names, the key is asked, and a handshake of the secure channel is
made with it; a record is kept only when its join code is that key's and the handshake
succeeded (docs/SECURITY.md, "Discovery"). Bounded for records anyone may advertise: at
most CHECKED addresses, taken in turn from each IP, each given PROBE seconds, all at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from net.discovery import Found, look
from net.registry_key import ask_key
from secure.stream import MAX_HANDSHAKE_FRAME, SecureStream
from wire.keys import code_from_text, fingerprint, join_code

#: Addresses (IP and port) checked at most of those found.
CHECKED = 64
#: Seconds an address has to answer with its key and finish a handshake (a registry on the
#: LAN takes milliseconds).
PROBE = 1.5


class Advertised(Struct, frozen=True):
    """An address records named, and the join codes' digits they advertised for it."""

    ip: str
    port: int
    codes: frozenset[str]


def usable(ip: str, port: int) -> bool:
    """Whether a record's address and port could be a registry's: an IPv4 address of one
    machine (not 0.0.0.0, multicast or broadcast) and a port."""
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    unusable = address.is_unspecified or address.is_multicast or address.is_reserved
    return not unusable and 0 < port < 65536


def to_probe(
    found: Sequence[Found], code: str | None = None, limit: int = CHECKED
) -> list[Advertised]:
    """The addresses to check of the records `found` with a join code (with `code`, that
    one) at a usable address: one from each IP in turn, in the order heard, `limit` at most,
    so that many records at a few addresses crowd out none elsewhere."""
    codes_at: dict[tuple[str, int], set[str]] = {}
    for record in found:
        digits = code_from_text(record.code)
        if digits is None or (code is not None and digits != code):
            continue
        if usable(record.ip, record.port):
            codes_at.setdefault((record.ip, record.port), set()).add(digits)
    by_ip: dict[str, list[Advertised]] = {}
    for (ip, port), codes in codes_at.items():
        by_ip.setdefault(ip, []).append(Advertised(ip, port, frozenset(codes)))
    turns = itertools.zip_longest(*by_ip.values())
    return [probe for turn in turns for probe in turn if probe is not None][:limit]


async def proven(probe: Advertised) -> Found | None:
    """The record of `probe` whose code is the key's that answered there, once a handshake
    with that key succeeded, within PROBE seconds; else None."""
    try:
        async with asyncio.timeout(PROBE):
            key = await ask_key(probe.ip, probe.port)
            digits = code_from_text(fingerprint(key)) if key is not None else None
            if key is None or digits not in probe.codes:
                return None
            if not await handshake(probe.ip, probe.port, key):
                return None
            return Found(probe.ip, probe.port, join_code(key))
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None  # (a DecodeError, OtherVersion too, is a ValueError)


async def handshake(ip: str, port: int, key: bytes) -> bool:
    """Whether the handshake of the secure channel with `key` succeeds at `ip`:`port`, as
    only the holder of its private key can make it: with a key of our own for this alone,
    and nothing sent once it is over. Raises OSError, ValueError (DecodeError)."""
    stream = SecureStream(X25519PrivateKey.generate(), remote=key)
    reader, writer = await asyncio.open_connection(ip, port)
    try:
        writer.write(stream.output())
        while not stream.ready:
            data = await reader.read(MAX_HANDSHAKE_FRAME)
            if not data:
                return False
            stream.feed(data)  # a frame over MAX_HANDSHAKE_FRAME, or one not opening: raises
        return True
    finally:
        writer.close()


async def checked(found: Sequence[Found], code: str | None = None) -> list[Found]:
    """The records of `found` proven (`proven`), of `to_probe`'s addresses."""
    proofs = await asyncio.gather(*(proven(probe) for probe in to_probe(found, code)))
    return [record for record in proofs if record is not None]


async def look_checked(bind: str, code: str | None) -> tuple[list[Found], list[Found]]:
    """The records heard on the network of `bind` (`look`), and those of them proven, of
    `code` if given. Raises DiscoveryError."""
    heard = await look(bind)
    return heard, await checked(heard, code)
