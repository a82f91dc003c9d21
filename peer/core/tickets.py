"""Mailbox tickets (secure/tickets.py): ours, handed with a direct message to each key we
write to, until one such message is acked (once a run, and again for a new secret); and
those others handed us, by the key of the mailbox's owner, shown with our saves for that
mailbox, so that the registry keeps us a place in it. Sans-IO."""

from __future__ import annotations

import json
from collections.abc import Mapping

from peer.core.actions import Emit, Keep
from secure.tickets import plausible, ticket

#: Tickets kept of others' mailboxes, and keys ours is made for, at most (the oldest dropped).
KEPT = 1000


class Tickets:
    """Our `secret` (from the Welcome: "" none yet) and the tickets `held`, by owner's key."""

    def __init__(self, held: Mapping[str, str] | None = None) -> None:
        self.secret = ""
        #: others' tickets, by their mailbox owner's key, the latest handed last
        self.held: dict[str, str] = dict(list((held or {}).items())[-KEPT:])
        self._made: dict[str, str] = {}  # our ticket for each key written to lately
        #: keys that acked a message carrying ours (read-only outside)
        self.handed: set[str] = set()

    def learn(self, secret: str) -> None:
        """The registry gave us `secret`: a new one is handed again to everyone."""
        if secret != self.secret:
            self.secret = secret
            self._made.clear()
            self.handed.clear()

    def to_hand(self, key: str) -> str:
        """Our ticket for a direct message to `key` ("": none, or handed already; a caller
        on the way of every message asks only with a `secret` and `key` not `handed`)."""
        if not self.secret or key in self.handed:
            return ""
        made = self._made.get(key)
        if made is None:
            made = ticket(self.secret, key)
            if len(self._made) >= KEPT:
                del self._made[next(iter(self._made))]
            self._made[key] = made
        return made

    def acked(self, key: str, given: str) -> None:
        """`key` acked a message carrying `given`: not handed again this run, if ours for it."""
        if given and self._made.get(key) == given:
            self.handed.add(key)

    def keep_handed(self, owner: str, given: str, emit: Emit) -> None:
        """The owner of key `owner` handed us `given`: kept (Keep) when new."""
        if self.held.get(owner) == given or not owner or not plausible(given):
            return
        self.held.pop(owner, None)
        self.held[owner] = given
        if len(self.held) > KEPT:
            del self.held[next(iter(self.held))]
        emit(Keep("tickets", json.dumps(self.held)))

    def for_owner(self, owner: str) -> str:
        """The ticket the owner of key `owner` handed us ("": none)."""
        return self.held.get(owner, "")
