"""How many accepted TCP connections a node serves at once, so that they never take the file
descriptors its files need.

Each connection is a file descriptor. Left unbounded, a client that opens connections and
leaves them idle (a bug, or a flood) runs the process out of descriptors within the idle
timeout: a registry could then neither accept anyone nor open a mailbox to save a message.
So connections are counted against the process's open-file limit, with SPARE_FDS left for
files. At the limit, the connection that has gone the longest without a whole frame makes
room for the new one if that has been EVICT_IDLE seconds (honest connections carry a request
and its answer and close); otherwise the new one is turned away. A connection whose last
frame has not been answered yet (its request is being worked on: a mailbox to read, a
receiver to probe) is closed only when no other would do: closing it would lose work
already done, and its client would ask again from the start. Bytes that trickle in
without completing a frame do not count (a slowloris sender, one byte every half second,
would otherwise keep its place for ever); the endpoint closes such a connection anyway once
its frame is late (FRAME_DEADLINE in net/endpoint.py). Connections handed to a session of their own
(the help desk, where waiting in silence is the point) are counted but never evicted.

One address holds at most `per_address` of them (MAX_STREAMS_PER_ADDRESS, and never more
than half the limit): a flood of connections from one machine, kept alive with a frame now
and then or settled as desk sessions, would otherwise take every place and turn everyone
else away. Its next connection closes its own longest-silent one to make room (an address
only ever makes room for itself: a peer that sends many long messages leaves a connection
open for each), one not waiting for an answer first, or is turned away when all it holds are
desk sessions.
"""

from __future__ import annotations

import ipaddress
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Protocol

#: File descriptors left for everything but accepted connections: the UDP socket, the
#: listening socket, the table and mailbox files, logs, outgoing connections.
SPARE_FDS = 64
#: Seconds a connection must have gone without a whole frame to be closed for a newcomer
#: at the limit.
EVICT_IDLE = 2.0
#: The limit when the open-file limit cannot be read (no `resource` module) or is unlimited.
DEFAULT_LIMIT = 1000
#: Accepted connections one IP address may hold open at once (at most half the limit): far
#: more than one machine's honest use (a connection carries a request and its answer, or
#: one person's desk session), far fewer than the places everyone shares.
MAX_STREAMS_PER_ADDRESS = 128


class Closable(Protocol):
    def close(self) -> None: ...


def stream_limit() -> int:
    """Accepted connections to serve at once: the open-file limit less SPARE_FDS, at least
    16 (DEFAULT_LIMIT where the limit cannot be read or has none)."""
    try:
        import resource
    except ImportError:  # not on this system (Windows)
        return DEFAULT_LIMIT
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return DEFAULT_LIMIT
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_LIMIT
    return max(16, soft - SPARE_FDS)


class StreamSlots:
    """The accepted connections being served, each with when it last brought a whole frame
    (or was accepted)."""

    def __init__(
        self,
        limit: int,
        clock: Callable[[], float] = time.monotonic,
        per_address: int = MAX_STREAMS_PER_ADDRESS,
    ) -> None:
        """At most `limit` connections in all, `per_address` of them (capped at half the
        limit, at least 1) from one address."""
        self.limit = limit
        self.per_address = max(1, min(per_address, limit // 2))
        self.exempt_loopback = True  # see `admit`; a test of the cap over real sockets clears it
        self._clock = clock
        # evictable connections with when each was last heard from, longest silent first
        self._heard: dict[Closable, float] = {}
        self._sessions: set[Closable] = set()  # never evicted
        self._address: dict[Closable, str] = {}  # the address of each, those given one
        self._from: dict[str, int] = {}  # connections open per address, sessions included
        # each address's evictable connections, longest silent first (as in `_heard`)
        self._idle_from: dict[str, dict[Closable, None]] = {}
        # evictable connections whose last frame has not been answered yet
        self._awaiting: set[Closable] = set()
        self.turned_away = 0
        self.turned_away_address = 0  # of `turned_away`, those over `per_address`
        self.evicted = 0
        self.evicted_address = 0  # of `evicted`, those for another of the same address

    def __len__(self) -> int:
        return len(self._heard) + len(self._sessions)

    def admit(self, stream: Closable, address: str = "") -> bool:
        """Take a new connection from `address` (an IP; "" for unknown, never capped) in,
        closing one to make room if need be: when its address holds `per_address` already,
        that address's longest-silent one (an address only ever makes room for itself), else
        at the limit the longest-silent one if silent for EVICT_IDLE. False (and counted)
        when there is no room: the caller closes it. Loopback is never capped: whoever
        connects from it shares this machine (many peers of one host, a benchmark's
        hundreds joining at once) and could exhaust it by other means anyway."""
        now = self._clock()
        if self.exempt_loopback and _is_loopback(address):
            address = ""
        if address and self._from.get(address, 0) >= self.per_address:
            own = self._choose(self._idle_from.get(address, {}))
            if own is None:  # all of them sessions: those are never closed for another
                self.turned_away += 1
                self.turned_away_address += 1
                return False
            self._evict(own)
            self.evicted_address += 1
        elif len(self) >= self.limit:
            # kept in order of activity: those silent for EVICT_IDLE come first
            silent = itertools.takewhile(lambda c: now - self._heard[c] >= EVICT_IDLE, self._heard)
            oldest = self._choose(silent)
            if oldest is None:
                self.turned_away += 1
                return False
            self._evict(oldest)
        self._heard[stream] = now
        if address:
            self._address[stream] = address
            self._from[address] = self._from.get(address, 0) + 1
            self._idle_from.setdefault(address, {})[stream] = None
        return True

    def _choose(self, candidates: Iterable[Closable]) -> Closable | None:
        """Of `candidates` (longest silent first), the one to close for a newcomer: the
        longest silent of those not waiting for an answer, else the longest silent."""
        first = None
        for stream in candidates:
            if stream not in self._awaiting:
                return stream
            if first is None:
                first = stream
        return first

    def open_from(self, address: str) -> int:
        """Connections open from `address`."""
        return self._from.get(address, 0)

    def _evict(self, stream: Closable) -> None:
        del self._heard[stream]
        self._awaiting.discard(stream)
        self._forget_address(stream)
        self.evicted += 1
        stream.close()

    def _forget_address(self, stream: Closable) -> None:
        address = self._address.pop(stream, None)
        if address is None:
            return
        left = self._from[address] - 1
        if left:
            self._from[address] = left
        else:
            del self._from[address]
        self._not_idle(stream, address)

    def _not_idle(self, stream: Closable, address: str) -> None:
        idle = self._idle_from.get(address)
        if idle is None:
            return
        idle.pop(stream, None)
        if not idle:
            del self._idle_from[address]

    def heard(self, stream: Closable) -> None:
        """`stream` brought a whole frame: it is in use, and waits for an answer until
        `answered`."""
        if self._heard.pop(stream, None) is not None:
            self._heard[stream] = self._clock()  # to the end: the order is of activity
            self._awaiting.add(stream)
            address = self._address.get(stream)
            if address is not None:
                idle = self._idle_from[address]
                del idle[stream]
                idle[stream] = None

    def answered(self, stream: Closable) -> None:
        """Something was sent back on `stream`: it waits for nothing now, and may be
        closed for a newcomer before those that still do."""
        self._awaiting.discard(stream)

    def settle(self, stream: Closable) -> None:
        """`stream` now serves a session of its own: never evicted."""
        self._awaiting.discard(stream)
        if self._heard.pop(stream, None) is not None:
            self._sessions.add(stream)
            address = self._address.get(stream)
            if address is not None:
                self._not_idle(stream, address)

    def release(self, stream: Closable) -> None:
        """`stream` is closed."""
        self._heard.pop(stream, None)
        self._sessions.discard(stream)
        self._awaiting.discard(stream)
        self._forget_address(stream)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
