"""Counts said in words a person reads, the noun agreeing with the number: peers and the
registry say "1 message", "2 messages", "0 rooms" alike."""

from __future__ import annotations


def counted(count: int, thing: str) -> str:
    """`count` and `thing` (a noun whose plural takes an s), as said: "1 room", "2 rooms"."""
    return f"{count} {thing}" + ("" if count == 1 else "s")
