"""How many TCP connections a node serves at once, and which one makes room for a
newcomer; and how many it opens.

Connections are counted against the open-file limit less SPARE_FDS, at most MAX_STREAMS:
a registry always keeps descriptors to accept a peer and open a mailbox.

At the limit a newcomer takes the place of the least useful connection: one that has shown
no key yet, then one waiting for no answer (the longest silent first), then one whose
request has gone unanswered for EVICT_IDLE (the longest waiting first). A fresher request
is protected, but not in the last `reserve` places: a registering peer always gets one.
Help-desk sessions are never evicted. Bytes that complete no frame are no activity.

One address holds at most `per_address`, loopback included: its next connection closes its
own least useful one, or is turned away when all it holds are desk sessions.

Connections opened to send a message too long for a datagram wait for its answer: one
address holds at most SENT_PER_ADDRESS of them, all at most SENT_LIMIT; past that the
message waits for its retry.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Protocol

#: File descriptors left for everything but accepted connections: the UDP socket, the
#: listening socket, the table and mailbox files, logs, outgoing connections.
SPARE_FDS = 64
#: Seconds a request may go unanswered before its connection is as good as any other to
#: close for a newcomer at the limit (a registry answers within moments, or probes for a
#: round of tries, wire.reliable).
EVICT_IDLE = 2.0
#: The share of the limit (one place in this many, at least one) where a request in
#: progress is no protection: newcomers always find a place there.
RESERVE_SHARE = 8
#: The limit when the open-file limit is unlimited.
DEFAULT_LIMIT = 1000
#: The soft open-file limit asked for when the hard one is unlimited (Linux refuses more
#: than its fs.nr_open, by default 1,048,576).
UNLIMITED_WANTED = 1 << 20
#: Most connections served at once: at some 30 KB each, near 120 MB.
MAX_STREAMS = 4096
#: Accepted connections one IP address may hold open at once (at most half the limit):
#: enough for 500 peers on one machine fetching their tables at once (the join storm).
MAX_STREAMS_PER_ADDRESS = 512
#: Connections opened to send to one IP address at once: a LAN machine runs a few peers.
SENT_PER_ADDRESS = 32
#: Connections opened to send at once in all.
SENT_LIMIT = 1024


class Closable(Protocol):
    def close(self) -> None: ...


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one where the system allows (a shell's is
    often 1,024): the soft limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = UNLIMITED_WANTED if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(OSError, ValueError):  # kept as it was: counted against
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return soft


def stream_limit() -> int:
    """Accepted connections to serve at once, once the open-file limit is raised."""
    soft = raise_open_file_limit()
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_LIMIT
    return max(16, min(MAX_STREAMS, soft - SPARE_FDS))


class StreamSlots:
    """The accepted connections being served: when each last brought a whole frame (or was
    accepted), whether it has shown a key, since when its request waits. Each connection
    turned away, or closed for another, is told to `dropped` (a kind and a line)."""

    def __init__(
        self,
        limit: int,
        clock: Callable[[], float] = time.monotonic,
        per_address: int = MAX_STREAMS_PER_ADDRESS,
        dropped: Callable[[str, str], None] = lambda kind, line: None,
    ) -> None:
        self.limit = limit
        self.per_address = max(1, min(per_address, limit // 2))
        self._clock = clock
        self._dropped = dropped
        # evictable connections with when each was last heard from, longest silent first
        self._heard: dict[Closable, float] = {}
        self._sessions: set[Closable] = set()  # never evicted
        self._address: dict[Closable, str] = {}  # the address of each, those given one
        self._from: Counter[str] = Counter()  # connections open per address, sessions too
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
        """Places a request in progress does not keep from a newcomer."""
        return max(1, self.limit // RESERVE_SHARE)

    def admit(self, stream: Closable, address: str = "", where: str = "") -> bool:
        """Take a new connection from `address` (an IP; "": never capped; `where`: its IP
        and port, for the line told) in, closing another to make room if need be. False
        (counted): the caller closes it."""
        now, made_room = self._clock(), ""
        own = bool(address) and self._from[address] >= self.per_address
        if own or len(self) >= self.limit:
            # of its own address's if it holds its share (none: all of them sessions)
            pool = self._idle_from.get(address, {}) if own else self._heard
            gone, why = self._least_useful(pool, now, own=own), "address" if own else "full"
            if gone is None:
                self.turned_away += 1
                self.turned_away_address += own
                self._tell(f"turned away: {why}", address, where)
                return False
            self._evict(gone)
            self.evicted_address += own
            made_room = f"evicted: {why}"
        self._heard[stream] = now
        self._unproven[stream] = None
        if address:
            self._address[stream] = address
            self._from[address] += 1
            self._idle_from.setdefault(address, {})[stream] = None
        if made_room:
            self._tell(made_room, address, where)
        return True

    def _tell(self, kind: str, address: str, where: str) -> None:
        share = f"{self.per_address} connections open from {address}, the most one address may hold"
        if kind == "turned away: address":
            line = f"turned away TCP connection #{self.turned_away} from {where}: {share}, all "
            line += "of them help-desk sessions"
        elif kind == "turned away: full":
            line = f"turned away TCP connection #{self.turned_away} from {where}: {len(self)} "
            line += "connections open, the most this process can serve, each a help-desk "
            line += "session or a request being answered"
        elif kind == "evicted: address":
            line = f"closed the least useful TCP connection from {address} to make room for one "
            line += f"more from it (#{self.evicted_address}): {share}"
        else:
            line = "closed the least useful TCP connection to make room for one from "
            line += f"{where} (#{self.evicted}; {len(self)} open, the most this process can serve)"
        self._dropped(kind, line)

    def _least_useful(
        self, candidates: Iterable[Closable], now: float, *, own: bool
    ) -> Closable | None:
        """Of `candidates` (longest silent first), the one to close for a newcomer; for one
        of the same address (`own`), however short its wait."""
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

    def _evict(self, stream: Closable) -> None:
        self.release(stream)
        self.evicted += 1
        stream.close()

    def _forget_address(self, stream: Closable) -> None:
        if (address := self._address.pop(stream, None)) is None:
            return
        self._from[address] -= 1
        if not self._from[address]:
            del self._from[address]
        self._not_idle(stream, address)

    def _not_idle(self, stream: Closable, address: str) -> None:
        if (idle := self._idle_from.get(address)) is None:
            return
        idle.pop(stream, None)
        if not idle:
            del self._idle_from[address]

    def shown_key(self, stream: Closable) -> None:
        self._unproven.pop(stream, None)

    def heard(self, stream: Closable) -> None:
        """`stream` brought a whole frame: it waits for an answer until `answered`."""
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
        """Something was sent back on `stream`: it waits for nothing now."""
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
        self._heard.pop(stream, None)
        self._sessions.discard(stream)
        self._awaiting.pop(stream, None)
        self._unproven.pop(stream, None)
        self._forget_address(stream)


class SentStreams:
    """The connections an endpoint opened to send a message and has not closed yet: each
    one's address and the id of the message it sent (`asking`, read-only outside)."""

    def __init__(self, limit: int = SENT_LIMIT, per_address: int = SENT_PER_ADDRESS) -> None:
        self.limit = limit
        self.per_address = per_address
        self.asking: set[tuple[tuple[str, int], str]] = set()
        #: connections not opened, at a limit
        self.refused = 0

    def take(self, addr: tuple[str, int], msg_id: str) -> bool:
        """Count a connection about to be opened to `addr` to send `msg_id`; False (counted)
        at a limit."""
        if self.open_to(addr[0]) >= self.per_address or len(self.asking) >= self.limit:
            self.refused += 1
            return False
        self.asking.add((addr, msg_id))
        return True

    def release(self, addr: tuple[str, int], msg_id: str) -> None:
        """A connection `take` counted is closed (or was never made)."""
        self.asking.discard((addr, msg_id))

    def open_to(self, ip: str) -> int:
        # (counted, SENT_LIMIT at most: only a message too long for a datagram opens one)
        return sum(at[0] == ip for at, _ in self.asking)
