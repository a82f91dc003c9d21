"""A busy desk's hashcash puzzle, as Tor's onion services ask: SHA-256(seed || work)."""

from __future__ import annotations

import hashlib

#: Most bits the desk ever asks: about two million hashes, a second or two of one core.
MAX_BITS = 24
#: The bytes of a work: a 64-bit counter.
_WORK_BYTES = 8


def zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def done(seed: str, bits: int, work: str) -> bool:
    """Whether `work` (hex) solves the puzzle `seed` (hex) of `bits`."""
    if len(work) != 2 * _WORK_BYTES:
        return False
    try:
        data = bytes.fromhex(seed) + bytes.fromhex(work)
    except ValueError:
        return False
    return zero_bits(hashlib.sha256(data).digest()) >= bits


def solve(seed: str, bits: int) -> str:
    """A work that solves `seed` of `bits` (the caller checks `bits` <= MAX_BITS)."""
    start = hashlib.sha256(bytes.fromhex(seed))
    counter = 0
    while True:
        attempt = start.copy()
        tail = counter.to_bytes(_WORK_BYTES, "big")
        attempt.update(tail)
        if zero_bits(attempt.digest()) >= bits:
            return tail.hex()
        counter += 1
