"""A peer's pace towards the registry: what the user types goes out at most PACE_RATE
messages a second on average, PACE_BURST at once, below the registry's flood gate
(wire.limits). A script piping thousands of lines used to outrun the gate: the registry
dropped the excess and told the peer it was too fast, the peer's retries were dropped too,
and it said "[Server not responding.]" and kept the line in its outbox, a thousand times
over, of a registry that was there all along. Paced, the lines wait in the peer, in order,
and each is answered at once. Pure: the caller supplies `now`."""

from __future__ import annotations

from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.token_bucket import FULL, BucketRule

#: The gate's rate less a fifth, and half its burst: the gate also counts the peer's acks
#: of what the registry pushes it, its keepalives and the retries of what went unanswered,
#: and it counts what it reads when it reads it, so a registry that falls behind for a
#: moment then meets what the peer sent over a longer time than the gate allows for.
PACE_RATE = REGISTRY_RATE * 0.8
PACE_BURST = REGISTRY_BURST * 0.5


class Pace:
    """A token bucket, full at the start: `rate` messages a second on average, `burst` at
    once. Kept as the time the next message is due at the average rate (the generic cell
    rate algorithm, wire.token_bucket): `take` compares times with the very time `next_at`
    gives, where counting fractions of tokens at a clock of 1.7e9 seconds rounded a
    wake-up's worth short, and a wake-up at `next_at` found nothing to send, again and
    again. A clock stepped back finds it as if empty at `now`, not stalled until the clock
    is back where it was."""

    def __init__(self, rate: float = PACE_RATE, burst: float = PACE_BURST) -> None:
        """Raises ValueError unless `rate` is positive and `burst` at least 1."""
        self._rule = BucketRule(rate, burst)
        self._due = FULL  # when the next message is due at the average rate

    def take(self, now: float) -> bool:
        """Whether one message may go at `now`; if so, it is counted."""
        taken, self._due = self._rule.take(self._due, now)
        return taken

    def next_at(self) -> float:
        """When the next message may go, as of the last `take` (any time at or before it,
        when one may go already)."""
        return self._rule.next_at(self._due)
