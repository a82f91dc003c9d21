"""How many accepted TCP connections a node serves at once, so that they never take the file
descriptors its files need, and which one makes room for a newcomer.

Each connection is a file descriptor. Left unbounded, a client that opens connections and
leaves them idle (a bug, or a flood) runs the process out of descriptors within the idle
timeout: a registry could then neither accept anyone nor open a mailbox to save a message.
So connections are counted against the process's open-file limit (raised to what the
system allows at start), with SPARE_FDS left for files, and never more
than MAX_STREAMS (each costs memory too).

At the limit a newcomer takes the place of the least useful connection: one that has not
shown a key yet (the longest silent first), then one waiting for no answer (the longest
silent first), then one whose request has gone unanswered for EVICT_IDLE (the longest
waiting first). A request more recent than that (a mailbox being read, a receiver being
probed) is protected, for closing it would lose work already done, but only so many of
them: the last `reserve` places (RESERVE_SHARE of the limit) are never held that way, so
the longest waiting of those goes when more wait. That is the reserve for registrations (a
peer whose Welcome is too big for a datagram fetches it over TCP): whoever holds every
place with requests, fresh or not, a new peer still gets one. A newcomer is turned away
only when help-desk sessions hold the reserve. Bytes that trickle in without completing a
frame do not count as activity; the endpoint closes such a connection anyway once its
message is late (FRAME_DEADLINE in net/served_stream.py). Connections handed to a session of
their own (the help desk, where waiting in silence is the point) are counted but never
evicted.

One address holds at most `per_address` of them (MAX_STREAMS_PER_ADDRESS, and never more
than half the limit), loopback included: a flood of connections from one machine, kept
alive with a frame now and then or settled as desk sessions, would otherwise take every
place. Its next connection closes its own least useful one to make room (an address only
ever makes room for itself: a peer that sends many long messages leaves a connection open
for each), or is turned away when all it holds are desk sessions.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterable
from typing import Protocol

#: File descriptors left for everything but accepted connections: the UDP socket, the
#: listening socket, the table and mailbox files, logs, outgoing connections.
SPARE_FDS = 64
#: Seconds a request may go unanswered before its connection is as good as any other to
#: close for a newcomer at the limit (a registry answers within moments, or probes for
#: a round of tries, wire.reliable; a sender of frames that ask nothing would otherwise hold its
#: place).
EVICT_IDLE = 2.0
#: The share of the limit (one place in this many, at least one) where a request in
#: progress is no protection: newcomers always find a place there.
RESERVE_SHARE = 8
#: The limit when the open-file limit is unlimited.
DEFAULT_LIMIT = 1000
#: The soft open-file limit asked for when the hard one is unlimited (Linux refuses more
#: than its fs.nr_open, by default 1,048,576).
UNLIMITED_WANTED = 1 << 20
#: Most connections served at once, whatever the open-file limit: each costs some 30 KB
#: of memory before it holds any message, so this bounds that cost near 120 MB.
MAX_STREAMS = 4096
#: Accepted connections one IP address may hold open at once (at most half the limit): a
#: class of peers on one machine fetching their tables over TCP at once (the join-storm
#: benchmark: 500 peers on loopback), far fewer than the places everyone shares.
MAX_STREAMS_PER_ADDRESS = 512


class Closable(Protocol):
    def close(self) -> None: ...


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one where the system allows: the soft
    limit in force afterwards. Left at a shell's soft limit (often 1,024), a thousand
    connections would leave a registry no descriptor to accept a peer or write its table."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = UNLIMITED_WANTED if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(OSError, ValueError):  # kept as it was: counted against
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return soft


def stream_limit() -> int:
    """Accepted connections to serve at once, once the open-file limit is raised: that
    limit less SPARE_FDS, at least 16 and at most MAX_STREAMS (DEFAULT_LIMIT when it has
    none)."""
    soft = raise_open_file_limit()
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_LIMIT
    return max(16, min(MAX_STREAMS, soft - SPARE_FDS))


class StreamSlots:
    """The accepted connections being served, each with when it last brought a whole frame
    (or was accepted), whether it has shown a key, and since when its request waits."""

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
        self._clock = clock
        # evictable connections with when each was last heard from, longest silent first
        self._heard: dict[Closable, float] = {}
        self._sessions: set[Closable] = set()  # never evicted
        self._address: dict[Closable, str] = {}  # the address of each, those given one
        self._from: dict[str, int] = {}  # connections open per address, sessions included
        # each address's evictable connections, longest silent first (as in `_heard`)
        self._idle_from: dict[str, dict[Closable, None]] = {}
        # evictable connections whose last frame has not been answered yet, with when the
        # first frame not answered came (later ones do not make it younger)
        self._awaiting: dict[Closable, float] = {}
        # connections that have not shown a key yet (no handshake), oldest first
        self._unproven: dict[Closable, None] = {}
        self.turned_away = 0
        self.turned_away_address = 0  # of `turned_away`, those over `per_address`
        self.evicted = 0
        self.evicted_address = 0  # of `evicted`, those for another of the same address

    def __len__(self) -> int:
        return len(self._heard) + len(self._sessions)

    @property
    def reserve(self) -> int:
        """Places a request in progress does not keep from a newcomer (see the module)."""
        return max(1, self.limit // RESERVE_SHARE)

    def admit(self, stream: Closable, address: str = "") -> bool:
        """Take a new connection from `address` (an IP; "" for unknown, never capped) in,
        closing one to make room if need be: when its address holds `per_address` already,
        that address's least useful one (an address only ever makes room for itself), else
        at the limit the least useful of all (see the module's docstring). False (and
        counted) when there is no room: the caller closes it."""
        now = self._clock()
        if address and self._from.get(address, 0) >= self.per_address:
            own = self._least_useful(self._idle_from.get(address, {}), now, own=True)
            if own is None:  # all of them sessions: those are never closed for another
                self.turned_away += 1
                self.turned_away_address += 1
                return False
            self._evict(own)
            self.evicted_address += 1
        elif len(self) >= self.limit:
            oldest = self._least_useful(self._heard, now, own=False)
            if oldest is None:
                self.turned_away += 1
                return False
            self._evict(oldest)
        self._heard[stream] = now
        self._unproven[stream] = None
        if address:
            self._address[stream] = address
            self._from[address] = self._from.get(address, 0) + 1
            self._idle_from.setdefault(address, {})[stream] = None
        return True

    def _least_useful(
        self, candidates: Iterable[Closable], now: float, *, own: bool
    ) -> Closable | None:
        """Of `candidates` (longest silent first), the one to close for a newcomer: the
        longest silent that has shown no key, else the longest silent waiting for no
        answer, else the one waiting longest for its answer, if for EVICT_IDLE or if
        requests hold the reserve (for a newcomer of the same address, `own`, however
        short its wait)."""
        quiet = waiting = None
        for stream in candidates:
            if stream in self._unproven:
                return stream  # silent since its accept: the oldest of them comes first
            since = self._awaiting.get(stream)
            if since is None:
                if quiet is None:
                    quiet = stream
            elif waiting is None or since < self._awaiting[waiting]:
                waiting = stream
        if quiet is not None:
            return quiet
        if waiting is None:
            return None
        crowded = len(self._awaiting) > self.limit - self.reserve
        if own or crowded or now - self._awaiting[waiting] >= EVICT_IDLE:
            return waiting
        return None

    def open_from(self, address: str) -> int:
        """Connections open from `address`."""
        return self._from.get(address, 0)

    def _evict(self, stream: Closable) -> None:
        del self._heard[stream]
        self._awaiting.pop(stream, None)
        self._unproven.pop(stream, None)
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

    def shown_key(self, stream: Closable) -> None:
        """`stream` has completed its handshake: it has shown a key."""
        self._unproven.pop(stream, None)

    def heard(self, stream: Closable) -> None:
        """`stream` brought a whole frame: it is in use, and waits for an answer until
        `answered`."""
        if self._heard.pop(stream, None) is not None:
            now = self._clock()
            self._heard[stream] = now  # to the end: the order is of activity
            self._awaiting.setdefault(stream, now)
            address = self._address.get(stream)
            if address is not None:
                idle = self._idle_from[address]
                del idle[stream]
                idle[stream] = None

    def answered(self, stream: Closable) -> None:
        """Something was sent back on `stream`: it waits for nothing now, and may be
        closed for a newcomer before those that still do."""
        self._awaiting.pop(stream, None)

    def settle(self, stream: Closable) -> None:
        """`stream` now serves a session of its own: never evicted."""
        self._awaiting.pop(stream, None)
        self._unproven.pop(stream, None)
        if self._heard.pop(stream, None) is not None:
            self._sessions.add(stream)
            address = self._address.get(stream)
            if address is not None:
                self._not_idle(stream, address)

    def release(self, stream: Closable) -> None:
        """`stream` is closed."""
        self._heard.pop(stream, None)
        self._sessions.discard(stream)
        self._awaiting.pop(stream, None)
        self._unproven.pop(stream, None)
        self._forget_address(stream)
