"""The retry rule of requests to the registry (peer.core.retry_wait), worked out for tests
that time rounds: a round is ATTEMPTS copies, the wait apart; from a registry never
measured, the wait is TIMEOUT, and a round after one unanswered while the registry was
heard from keeps it (only an answer that needed copies makes it longer)."""

from __future__ import annotations

from peer.core.requests import REGISTER_BACK_OFF
from wire.reliable import ATTEMPTS, TIMEOUT

#: A round of tries, from a request's first copy to its end, the registry never measured.
ROUND = ATTEMPTS * TIMEOUT
#: The waits after each copy of a registration's round: twice the one before, up to a bound.
REGISTER_WAITS = [min(TIMEOUT * 2**copy, REGISTER_BACK_OFF) for copy in range(ATTEMPTS)]
#: A registration's round of tries, from its first copy to its end.
REGISTER_ROUND = sum(REGISTER_WAITS)


def heard_for(rounds: int) -> float:
    """Seconds from a request's first copy to the end of its `rounds` rounds, unanswered
    while the registry was heard from all along."""
    return rounds * ROUND
