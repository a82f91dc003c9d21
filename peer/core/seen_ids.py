"""Which messages this peer has shown already, so that each is shown once (docs/PROTOCOL.md:
at least once on the wire, exactly once on the screen). Sans-IO: a first sight
appends the Shown action that has the adapter record it durably.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from peer.core.actions import Emit, Shown
from wire.names import name_key

#: Message ids remembered for showing each message once.
SEEN_IDS = 50_000


class SeenIds:
    """The (sender, id) pairs shown, the last `limit` of them, senders ignoring case."""

    def __init__(self, seen: Iterable[tuple[str, str]] = (), limit: int = SEEN_IDS) -> None:
        """`seen`: the pairs shown in earlier runs, oldest first (see Shown)."""
        self._limit = limit
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict(
            ((name_key(sender), msg_id), None) for sender, msg_id in seen
        )

    def first_sight(self, sender: str, msg_id: str, emit: Emit) -> bool:
        """Whether (sender, id) is new; if so it is recorded, durably first (a Shown handed
        to `emit`, which the adapter carries out before the line is printed)."""
        key = (name_key(sender), msg_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        emit(Shown(key[0], msg_id))
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return True
