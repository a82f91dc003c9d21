"""The retry rule of requests to the registry (peer.core.retry_wait), worked out for tests
that time rounds: a round is ATTEMPTS copies, the wait apart; from a registry never
measured, the wait is TIMEOUT, and a round after one unanswered while the registry was
heard from keeps it (only an answer that needed copies makes it longer)."""

from __future__ import annotations

from wire.reliable import ATTEMPTS, TIMEOUT

#: A round of tries, from a request's first copy to its end, the registry never measured.
ROUND = ATTEMPTS * TIMEOUT


def heard_for(rounds: int) -> float:
    """Seconds from a request's first copy to the end of its `rounds` rounds, unanswered
    while the registry was heard from all along."""
    return rounds * ROUND
