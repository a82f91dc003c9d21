"""The retry rule of requests to the registry (peer.core.retry_wait), worked out for tests
that count copies or time rounds: from a registry never measured, the first copy waits
TIMEOUT, each next one twice as long as the last (up to RTO_MAX, and that wait carried over
to the next round), and a round ends ATTEMPTS * TIMEOUT after its first copy, or after its
first copy's wait if longer."""

from __future__ import annotations

from peer.core.retry_wait import RTO_MAX
from wire.reliable import ATTEMPTS, TIMEOUT

#: From a request's first copy to the end of its round, the registry never measured.
ROUND = ATTEMPTS * TIMEOUT


def rounds_unanswered(rounds: int = 1) -> tuple[int, float]:
    """The copies of a request sent in `rounds` rounds of tries, none answered, and the
    seconds from its first copy to the end of the last round."""
    copies, wait, took = 0, TIMEOUT, 0.0
    for _ in range(rounds):
        length, sent_at = max(ROUND, wait), 0.0
        while True:
            copies += 1
            if sent_at + wait >= length:
                break
            sent_at += wait
            wait = min(2 * wait, RTO_MAX)
        took += length
    return copies, took


def copies_unanswered(rounds: int = 1) -> int:
    """The copies of a request sent in `rounds` rounds of tries, none answered."""
    return rounds_unanswered(rounds)[0]


def unanswered_for(rounds: int = 1) -> float:
    """Seconds from a request's first copy to the end of its `rounds` rounds, unanswered."""
    return rounds_unanswered(rounds)[1]
