"""How much one mailbox holds, and how much of the mailboxes one sender may take: a key a
quarter of a box, an address half, all strangers (the owner never wrote to) half, and a
key's and an address's messages in all boxes are bounded. Channel messages stop a little
before a box is full; the first not kept leaves one notice in it."""

from __future__ import annotations

from msgspec import Struct, field

from wire.messages import NOTICE_KIND, StoredMessage

#: Messages one mailbox holds at most (`--mailbox-limit`).
MAILBOX_MESSAGES = 1000
#: UTF-8 bytes of text a mailbox holds per message of its limit.
BYTES_PER_MESSAGE = 2 * 1024
#: ...and at least this many, so that even a small box takes a few of the longest messages.
MIN_BYTES = 64 * 1024
#: Channel messages are kept only while the box is below this share of both limits.
CHANNEL_SHARE = 0.9


def byte_limit(limit: int) -> int:
    return max(limit * BYTES_PER_MESSAGE, MIN_BYTES)


def full_notice(stamp: str) -> str:
    return f"Your mailbox filled up at {stamp}; channel messages sent after that were not kept."


def share_notice(sender: str, stamp: str) -> str:
    return (
        f"Channel messages from {sender} sent from {stamp} on were not kept: "
        "they went over what one sender may leave in mailboxes."
    )


def refusal(owner: str) -> str:
    return f"{owner}'s mailbox is full."


#: Who sent a stored message: its sender's key and IP address ("": none, the registry's own).
Origin = tuple[str, str]
NO_ORIGIN: Origin = ("", "")
#: A sender as a mailbox counts it: its origin, and whether a stranger to the box's owner.
Sender = tuple[Origin, bool]

#: The share of one mailbox (its messages, and its bytes) one key may fill...
SENDER_SHARE = 0.25
#: ...and all the keys at one address together.
ADDRESS_SHARE = 0.5
#: ...and all the strangers together: the rest is kept for the people the owner wrote to.
STRANGERS_SHARE = 0.5
#: The holder all strangers' messages in a box count against, together.
_STRANGERS = "strangers"
#: Bytes of text one key's messages waiting in all mailboxes take at most.
SENDER_BYTES = 4 * 1024 * 1024
#: ...and one address's.
ADDRESS_BYTES = 16 * 1024 * 1024


#: Messages, and bytes of text, one holder has in one mailbox.
Usage = tuple[int, int]


class Tally(Struct):
    """What one mailbox holds, as counted: each message's (sender, id) with whom it counts
    against (None: nobody), its bytes of text, whether it has the notice, and what each
    holder ("key <k>", "address <ip>", all strangers) has in it."""

    senders: dict[tuple[str, str], Sender | None] = field(default_factory=dict)
    size: int = 0
    noticed: bool = False
    holders: dict[str, Usage] = field(default_factory=dict)

    def has_room(self, size: int, kind: str, limit: int) -> bool:
        share = CHANNEL_SHARE if kind == "channel" else 1.0
        fits = len(self.senders) + 1 <= limit * share
        return fits and self.size + size <= byte_limit(limit) * share

    def merge(self, other: Tally) -> None:
        self.senders.update(other.senders)
        self.size += other.size
        self.noticed |= other.noticed
        for holder, (count, size) in other.holders.items():
            had_count, had_size = self.holders.get(holder, (0, 0))
            self.holders[holder] = (had_count + count, had_size + size)


class Quotas:
    """What each key and each address has stored in all mailboxes."""

    def __init__(self) -> None:
        # holder -> bytes it has in all boxes
        self._totals: dict[str, int] = {}

    def refusal(self, tally: Tally, owner: str, sender: Sender, size: int, limit: int) -> str:
        """ "" when a message of `size` bytes from `sender` may go into `owner`'s mailbox
        (`tally`, of `limit` messages); else why not, for its sender."""
        (key, ip), stranger = sender
        usages = tally.holders
        if key and _over(usages.get(f"key {key}"), size, limit, SENDER_SHARE):
            return (
                f"You have {_part(SENDER_SHARE)} of {owner}'s mailbox, the most one "
                f"sender may fill; try again once {owner} has read your messages."
            )
        if ip and _over(usages.get(f"address {ip}"), size, limit, ADDRESS_SHARE):
            return (
                f"Senders at {ip} have {_part(ADDRESS_SHARE)} of {owner}'s mailbox, "
                f"the most one address may fill; try again once {owner} has read their "
                "messages."
            )
        if stranger and key and _over(usages.get(_STRANGERS), size, limit, STRANGERS_SHARE):
            return (
                f"Senders {owner} has not written to fill half of {owner}'s mailbox, the "
                f"most they may; the rest is kept for those {owner} writes to."
            )
        if key and self._totals.get(f"key {key}", 0) + size > SENDER_BYTES:
            return (
                f"Your messages waiting at the registry take {_mib(SENDER_BYTES)}, the "
                "most one sender may keep there; try again once they are read."
            )
        if ip and self._totals.get(f"address {ip}", 0) + size > ADDRESS_BYTES:
            return (
                f"Messages from {ip} waiting at the registry take "
                f"{_mib(ADDRESS_BYTES)}, the most one address may keep there; try "
                "again once they are read."
            )
        return ""

    def count(self, tally: Tally, message: StoredMessage, sender: Sender | None) -> None:
        tally.senders[(message.sender, message.id)] = sender
        self._count(tally, message, sender, 1)

    def uncount(self, tally: Tally, message: StoredMessage) -> None:
        self._count(tally, message, tally.senders.pop((message.sender, message.id), None), -1)

    def held(self, origin: Origin) -> int:
        key, ip = origin
        return self._totals.get(f"key {key}" if key else f"address {ip}", 0)

    def _count(
        self, tally: Tally, message: StoredMessage, sender: Sender | None, sign: int
    ) -> None:
        size = sign * len(message.text.encode())
        tally.size += size
        if message.kind == NOTICE_KIND:
            tally.noticed = sign > 0
        (key, ip), stranger = sender or (NO_ORIGIN, False)
        holders = [h for h, there in ((f"key {key}", key), (f"address {ip}", ip)) if there]
        for holder in holders + ([_STRANGERS] if stranger and key else []):
            count, had = tally.holders.get(holder, (0, 0))
            if count + sign > 0:
                tally.holders[holder] = (count + sign, had + size)
            else:  # a month of traffic leaves no trace of who sent once
                tally.holders.pop(holder, None)
            if holder == _STRANGERS:
                continue  # a share of this box only: no total in all boxes
            total = self._totals.get(holder, 0) + size
            if total > 0:
                self._totals[holder] = total
            else:
                self._totals.pop(holder, None)


def _over(usage: Usage | None, size: int, limit: int, share: float) -> bool:
    """Whether one more message takes `usage` past `share` of a box (one always fits)."""
    if usage is None:
        return False
    count, had = usage
    return count + 1 > max(1.0, limit * share) or had + size > byte_limit(limit) * share


def _part(share: float) -> str:
    return {0.25: "a quarter", 0.5: "half"}.get(share, f"{share:.0%}")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"
