"""How many TCP connections an endpoint opens at once, each to send one message too long for a
datagram and wait for its answer (or SENT_IDLE_CLOSE, net/served_stream.py).

A peer that never answers holds one that long, for each retried copy: a few addresses with
many names could make a registry hold thousands. So one IP address holds at most
PER_ADDRESS, all at most LIMIT; past that the message waits for its retry (logged, counted).
"""

from __future__ import annotations

#: Connections opened to one IP address at once: a LAN machine runs a few peers.
PER_ADDRESS = 32
#: Connections opened at once in all.
LIMIT = 1024


class SentStreams:
    """The connections an endpoint opened and has not closed yet, by IP address."""

    def __init__(self, limit: int = LIMIT, per_address: int = PER_ADDRESS) -> None:
        self.limit = limit
        self.per_address = per_address
        self._open: dict[str, int] = {}
        self._total = 0
        #: connections not opened, at a limit
        self.refused = 0

    def take(self, ip: str) -> bool:
        """Count a connection about to be opened to `ip`; False (counted) at a limit."""
        held = self._open.get(ip, 0)
        if held >= self.per_address or self._total >= self.limit:
            self.refused += 1
            return False
        self._open[ip] = held + 1
        self._total += 1
        return True

    def release(self, ip: str) -> None:
        """A connection `take` counted to `ip` is closed (or was never made)."""
        held = self._open[ip] - 1
        if held:
            self._open[ip] = held
        else:
            del self._open[ip]
        self._total -= 1

    def open_to(self, ip: str) -> int:
        """Connections open to `ip`."""
        return self._open.get(ip, 0)
