"""How much one mailbox holds, and what it says when it is full.

A mailbox is kept on disk and in the registry's memory, so it has to stop somewhere: a
peer away for a month on a busy channel, or someone flooding a name with long messages,
would otherwise fill both. When a box is full nothing is lost silently:

- a direct message that does not fit is refused, and its sender is told (they still have
  it on their screen, and can try again later);
- channel messages stop being kept a little before the box is full, so that the last
  places are left for direct messages; the first channel message not kept leaves one
  notice in the box, in its place, which the owner sees among their messages;
- a channel message over its sender's share of the box leaves that notice as well, saying
  whose messages were not kept (nobody is answered for a channel message not kept).
"""

from __future__ import annotations

from msgspec import Struct

from wire.messages import NOTICE_KIND, StoredMessage

#: Messages one mailbox holds at most, unless the registry is told otherwise
#: (`ChatApp -s PORT --mailbox-limit N`).
MAILBOX_MESSAGES = 1000
#: UTF-8 bytes of text a mailbox holds per message of its limit: a box of 1,000 holds
#: 2 MiB, whatever the mix of short and long messages.
BYTES_PER_MESSAGE = 2 * 1024
#: ...and at least this many, so that even a small box takes a few of the longest messages.
MIN_BYTES = 64 * 1024
#: Channel messages are kept only while the box is below this share of both limits.
CHANNEL_SHARE = 0.9


def byte_limit(limit: int) -> int:
    """The bytes of text a mailbox of at most `limit` messages holds."""
    return max(limit * BYTES_PER_MESSAGE, MIN_BYTES)


def full_notice(stamp: str) -> str:
    """The line left in a mailbox where channel messages stopped being kept."""
    return f"Your mailbox filled up at {stamp}; channel messages sent after that were not kept."


def share_notice(sender: str, stamp: str) -> str:
    """The line left in a mailbox where `sender`'s channel messages went over a sender's
    share (registry/core/quotas.py: of this box, or of all of them, for its key or its address),
    when no such line is in the box yet."""
    return (
        f"Channel messages from {sender} sent from {stamp} on were not kept: "
        "they went over what one sender may leave in mailboxes."
    )


def refusal(owner: str) -> str:
    """Why a direct message that does not fit was refused: its sender's peer says which
    message it was, and that it was not saved."""
    return f"{owner}'s mailbox is full."


class BoxIndex(Struct):
    """What the registry knows of one mailbox without scanning it: the (sender, id) pairs
    in it (so a copy is stored once), the bytes of its texts, and whether it holds the
    full notice. Built for one list; rebuilt when the box is replaced (hand-over, rename,
    release), which `of` tells by identity."""

    box: list[StoredMessage]
    ids: set[tuple[str, str]]
    size: int
    noticed: bool

    @classmethod
    def of(cls, box: list[StoredMessage]) -> BoxIndex:
        """The index of `box` as it is now."""
        return cls(
            box,
            {(m.sender, m.id) for m in box},
            sum(len(m.text.encode()) for m in box),
            any(m.kind == NOTICE_KIND for m in box),
        )

    def has_room(self, size: int, kind: str, limit: int) -> bool:
        """Whether a message of `kind` with `size` bytes of text may be added to a box that
        holds at most `limit` messages (and `byte_limit(limit)` bytes of text)."""
        share = CHANNEL_SHARE if kind == "channel" else 1.0
        return len(self.box) + 1 <= limit * share and self.size + size <= byte_limit(limit) * share

    def add(self, message: StoredMessage, size: int) -> None:
        """Put `message`, whose text has `size` bytes, at the end of the box."""
        self.box.append(message)
        self.ids.add((message.sender, message.id))
        self.size += size
        if message.kind == NOTICE_KIND:
            self.noticed = True
