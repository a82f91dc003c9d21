"""The requests a relaying registry handed to the registry that decides, not answered yet.

A peer sends a request again every TIMEOUT seconds until it is answered, and moves to
another registry of the service after a whole round of copies with no answer. In a join
storm the registry that decides answers late, and its peers' registries would look dead
when they are only waiting. So a copy of a request handed over already, and not answered
yet, is answered Busy by the registry the peer chose (the peer waits, and stays there), and
is not handed over again (the copy would only add to the work of the one that decides).
A copy is handed over again once HAND_AGAIN seconds have passed (the one handed over may
have been lost on the way), and all are forgotten when another registry takes the lead.
"""

from __future__ import annotations

from collections import OrderedDict

from registry.adapter.cluster.link import Addr
from wire.messages import Acks, Message
from wire.reliable import ATTEMPTS, TIMEOUT

#: Seconds after which a copy of a request still unanswered is handed over again: two of a
#: peer's rounds of copies.
HAND_AGAIN = 2 * ATTEMPTS * TIMEOUT
#: The most requests remembered at once (the oldest are forgotten first: their copies are
#: handed over again, as before a registry answered Busy).
AWAITED_KEPT = 65536


def is_request(message: Message) -> bool:
    """Whether `message`, from a peer, asks for an answer (an ack or refusal answers one)."""
    return not hasattr(message, "reply_to") and not isinstance(message, Acks)


class Awaited:
    """Requests handed over, by the address they came from and their id, each with when."""

    def __init__(self) -> None:
        self._since: OrderedDict[tuple[Addr, str], float] = OrderedDict()

    def waited(self, addr: Addr, message: Message, now: float) -> float | None:
        """`message` came from `addr` at `now`: None to hand it over (it is remembered as
        handed then), else the seconds its first copy has waited for an answer."""
        if not is_request(message):
            return None
        key = (addr, message.id)
        since = self._since.get(key)
        if since is not None and now - since < HAND_AGAIN:
            return now - since
        self._since[key] = now
        self._since.move_to_end(key)
        if len(self._since) > AWAITED_KEPT:
            self._since.popitem(last=False)
        return None

    def answered(self, addr: Addr, reply_to: str) -> None:
        """The registry that decides answered request `reply_to` of `addr`."""
        if self._since:
            self._since.pop((addr, reply_to), None)

    def clear(self) -> None:
        """Another registry decides now: what was handed to the last may never be answered."""
        self._since.clear()

    def __len__(self) -> int:
        return len(self._since)
