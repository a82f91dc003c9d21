"""A far end's round trip as its answers measure it, and the wait before a copy is sent
again: TCP's retransmission timeout (RFC 6298), SRTT + 4·RTTVAR, never below
wire.reliable.TIMEOUT, doubled while copies go unanswered, up to RTO_MAX. Sans-IO.
"""

from __future__ import annotations

from typing import Final

from wire.reliable import TIMEOUT

#: The longest wait between two copies (RFC 6298 (2.5) allows a cap).
RTO_MAX: Final = 16 * TIMEOUT
#: RFC 6298's gains (2.3) and the factor of the variation in the timeout (2.2).
ALPHA: Final = 1 / 8
BETA: Final = 1 / 4
K: Final = 4.0


class RoundTrip:
    """The far end's round trip as measured (RFC 6298 section 2), and the wait of the next
    copy sent (`rto`)."""

    def __init__(self, floor: float = TIMEOUT, cap: float = RTO_MAX) -> None:
        if not 0 < floor <= cap:
            raise ValueError("the floor must be positive and at most the cap")
        self.floor = floor
        self.cap = cap
        self.srtt: float | None = None  # None until the first sample
        self.rttvar = 0.0
        #: The wait of the next first copy (RFC 6298's RTO), from the floor (not 1 s: a LAN).
        self.rto = floor

    def restart(self) -> None:
        self.srtt, self.rttvar, self.rto = None, 0.0, self.floor

    def gave_up(self) -> None:
        """A request was given up on: the far end is away, not slow. The next request
        waits what the samples give, so that each of an outage's is given up as soon."""
        self.rto = self.estimate()

    def _bounded(self, wait: float) -> float:
        return min(max(wait, self.floor), self.cap)

    def sample(self, rtt: float) -> None:
        """An answer came `rtt` seconds after the one copy of its request (RFC 6298 2.2,
        2.3): the estimate moves towards it, and a backed-off wait returns to it."""
        rtt = max(rtt, 0.0)
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = (1 - BETA) * self.rttvar + BETA * abs(self.srtt - rtt)
            self.srtt = (1 - ALPHA) * self.srtt + ALPHA * rtt
        self.rto = self._bounded(self.srtt + K * self.rttvar)  # (`estimate`, written out)

    def estimate(self) -> float:
        if self.srtt is None:
            return self.floor
        return self._bounded(self.srtt + K * self.rttvar)

    def backed_off(self, wait: float) -> float:
        """Copies `wait` apart showed the far end behind: the next wait is twice as long
        (RFC 6298 5.5), up to the cap, and so is every request's from now until a sample."""
        longer = self._bounded(2 * wait)
        self.rto = max(self.rto, longer)
        return longer
