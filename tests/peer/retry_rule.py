"""The retry rule of requests to the registry (peer.core.retry_wait), worked out for tests
that time rounds: a round is ATTEMPTS copies, the wait apart; from a registry never
measured, the wait is TIMEOUT, and each round after one in which the registry was heard
from (it runs, behind) waits twice as long as the one before, up to RTO_MAX."""

from __future__ import annotations

from peer.core.retry_wait import RTO_MAX
from wire.reliable import ATTEMPTS, TIMEOUT

#: A round of tries, from a request's first copy to its end, the registry never measured.
ROUND = ATTEMPTS * TIMEOUT


def heard_for(rounds: int) -> float:
    """Seconds from a request's first copy to the end of its `rounds` rounds, unanswered
    while the registry was heard from all along."""
    return sum(ATTEMPTS * min(TIMEOUT * 2**k, RTO_MAX) for k in range(rounds))
