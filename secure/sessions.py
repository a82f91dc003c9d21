"""What the secure channel (secure/channel.py) keeps of the keys it talks to, all bounded:
peers (a key at an address) least recently used forgotten first, with their sessions (each
with its replay window), so handshakes from many new keys push out idle peers, never busy
ones; and each key's newest initiation time from any address, so a captured one is refused
anywhere (WireGuard, 5.1).
"""

from __future__ import annotations

import collections
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from secure.noise import AEAD, Handshake
from wire.reliable import SOONEST_RETRY

Addr = tuple[str, int]

#: Peers (each a key at an address) kept at once: what strangers can make us hold, a few kB each.
MAX_PEERS = 20_000
#: Keys whose newest handshake time is kept: some 200 bytes each.
STAMPS_KEPT = 65_536
#: Seconds a datagram waits for its session's handshake before it is dropped, and how many
#: may wait for one key. Less than every retry (SOONEST_RETRY): the sender's next try sends
#: a fresh copy, and nothing waits here to arrive after its sender gave up on it (a rename
#: said not done must not be done later).
QUEUE_FOR = 0.9 * SOONEST_RETRY
QUEUE_MAX = 256
LATE = "waited too long for a session"
#: Initiations an initiator keeps unanswered: an answer to any of the last this many
#: completes a handshake (SecureChannel's `_initiate`).
INITIATIONS_KEPT = 3
#: Sessions kept per peer: the current one, the one before it (datagrams still on their way
#: when it was replaced) and one for each initiation its initiator may still complete: else
#: the one it completes, its answer alone not lost, may be gone here and its data dropped.
KEYPAIRS_KEPT = 2 + INITIATIONS_KEPT


#: Messages after which a session's counter is used up (WireGuard's REJECT_AFTER_MESSAGES).
REJECT_AFTER_MESSAGES: Final = 2**64 - 2**13 - 1
#: How far below the highest counter accepted one may be: wireguard-go's (128 - 1) * 64.
WINDOW: Final = 8128
_RING: Final = (WINDOW // 64 + 1) * 8  # wireguard-go's ringBlocks of 64 bits, in bytes


class ReplayWindow:
    """WireGuard's anti-replay window of one session (whitepaper 5.4.6, RFC 6479): `accept(c)`
    is True once for each counter c below REJECT_AFTER_MESSAGES no more than WINDOW below the
    highest accepted so far (at first 0), else False: wireguard-go's replay.go and the kernel's
    `counter_validate`, kept as they keep it in blocks of 8 bits (no int made per datagram)."""

    __slots__ = ("_highest", "_ring")

    def __init__(self) -> None:
        self._highest = 0
        self._ring = bytearray(_RING)  # byte b: the bits of counters b*8 .. b*8+7, at b % _RING

    def accept(self, counter: int) -> bool:
        """Whether to accept a message bearing `counter` (it opened with that nonce), and
        remember it was. Only for a message that authenticated, as in WireGuard: a forged
        counter would move the window."""
        ring, highest, bit = self._ring, self._highest, 1 << (counter & 7)
        if highest < counter < REJECT_AFTER_MESSAGES:  # the usual
            # Slide forward, emptying the bytes passed over (all of them after a long
            # jump). Above the highest, no counter was accepted: its bit is clear.
            byte, current = counter >> 3, highest >> 3
            if byte != current:
                for passed in range(current + 1, current + 1 + min(byte - current, _RING)):
                    ring[passed % _RING] = 0
            self._highest = counter
            ring[byte % _RING] |= bit
            return True
        if counter < 0 or not 0 <= highest - counter <= WINDOW:  # (below 0: over the limit)
            return False
        index = (counter >> 3) % _RING
        old = ring[index]
        if old & bit:
            return False
        ring[index] = old | bit
        return True


@dataclass(slots=True)
class Session:
    """One handshake's pair of session keys, with the other side's `key` and `addr`."""

    local: int
    remote: int
    key: bytes
    addr: Addr
    sending: AEAD
    receiving: AEAD
    made: float
    confirmed: bool
    peer: Peer
    window: ReplayWindow = field(default_factory=ReplayWindow)
    counter: int = 0


@dataclass(slots=True)
class Initiation:
    """A handshake we began that awaits its response, with the mac1 it was sent with."""

    local: int
    key: bytes
    addr: Addr
    handshake: Handshake
    sent: float
    mac1: bytes


@dataclass(slots=True)
class Peer:
    """Everything kept about one other key at one address. By address too: two programs
    may share a key (two names started from one data directory), and each has sessions
    of its own."""

    key: bytes
    addr: Addr
    ident: Any  # (key, addr), its key in `Sessions.peers` (hot path: Any, kept boxed)
    sessions: list[Session] = field(default_factory=list)
    # the newest confirmed of `sessions` (None: none), set by `Sessions.confirmed`
    current: Session | None = None
    # the last initiations sent after the newest one answered, oldest first, and how many
    # were sent since a session was last made (lists: a stranger's peer costs 1.4 kB less)
    initiations: list[Initiation] = field(default_factory=list)
    tries: int = 0
    waiting: list[tuple[bytes, Addr, float]] = field(default_factory=list)
    # when we sent to it first since we last heard from it (None: heard since), and
    # whether that silence made a new handshake already
    unanswered_since: float | None = None
    rehandshaken: bool = False
    # the longest it took to answer us: a handshake's or a cookie reply's round trip, or a
    # silence taken for a restart that the session outlived
    slowest: float = 0.0
    # when data from it last opened here (SecureChannel's `open`): its session works
    heard_at: float = float("-inf")
    # the cookie its last cookie reply gave, and when (secure/cookie.py)
    cookie: bytes | None = None
    cookie_at: float = float("-inf")

    def wait(self, data: bytes, addr: Addr, now: float, dropped: collections.Counter[str]) -> None:
        """Keep `data` for `addr` until a handshake under way is over; drops are counted."""
        self.expire(now, dropped)
        if len(self.waiting) >= QUEUE_MAX:
            del self.waiting[0]
            dropped[LATE] += 1
        self.waiting.append((data, addr, now))

    def expire(self, now: float, dropped: collections.Counter[str]) -> None:
        waiting = self.waiting
        late = 0
        while late < len(waiting) and now - waiting[late][2] > QUEUE_FOR:
            late += 1
        if late:
            del waiting[:late]
            dropped[LATE] += late


class Sessions:
    """The peers, sessions and handshake times of one secure channel."""

    def __init__(self) -> None:
        self.peers: collections.OrderedDict[tuple[bytes, Addr], Peer] = collections.OrderedDict()
        self.last: Peer | None = None  # the last of `peers`: used again, it stays
        self.by_index: dict[int, Session | Initiation] = {}  #: by our index for each
        self.by_addr: dict[Addr, Peer] = {}  #: the peer last made at each address
        self._stamps: collections.OrderedDict[bytes, bytes] = collections.OrderedDict()

    def peer(self, key: bytes, addr: Addr) -> Peer:
        peers, ident = self.peers, (key, addr)
        peer = peers.get(ident)
        if peer is not None:
            peers.move_to_end(ident)
            self.last = peer
            return peer
        peer = self.last = peers[ident] = self.by_addr[addr] = Peer(key, addr, ident)
        if len(peers) > MAX_PEERS:
            _, gone = peers.popitem(last=False)
            if self.by_addr.get(gone.addr) is gone:
                del self.by_addr[gone.addr]
            for session in gone.sessions:
                self.by_index.pop(session.local, None)
            for initiation in gone.initiations:
                self.by_index.pop(initiation.local, None)
        return peer

    def keep(self, peer: Peer, session: Session) -> None:
        """Add `session`, forgetting the oldest beyond KEYPAIRS_KEPT (an unconfirmed one
        first: a confirmed session is never pushed out by handshakes nobody finished)."""
        self.by_index[session.local] = session
        peer.sessions.append(session)
        while len(peer.sessions) > KEYPAIRS_KEPT:
            unconfirmed = [s for s in peer.sessions[:-1] if not s.confirmed]
            gone = unconfirmed[0] if unconfirmed else peer.sessions[0]
            peer.sessions.remove(gone)
            self.by_index.pop(gone.local, None)
        self.confirmed(peer)

    @staticmethod
    def confirmed(peer: Peer) -> None:
        """`current`: the newest confirmed session again."""
        peer.current = next((s for s in reversed(peer.sessions) if s.confirmed), None)

    def newer_stamp(self, key: bytes, stamp: bytes) -> bool:
        """Whether `stamp` is newer than every initiation time `key` sent before (then kept)."""
        stamps = self._stamps
        last = stamps.pop(key, b"")
        if stamp <= last:
            stamps[key] = last
            return False
        stamps[key] = stamp
        if len(stamps) > STAMPS_KEPT:
            stamps.popitem(last=False)
        return True

    def new_index(self) -> int:
        while True:
            index = secrets.randbits(32)
            if index not in self.by_index:
                return index


def stamp_bytes(nanoseconds: int) -> bytes:
    """A wall-clock time as WireGuard's TAI64N: a later time compares greater."""
    seconds, nanos = divmod(nanoseconds, 1_000_000_000)
    return (seconds + 2**62).to_bytes(8, "big") + nanos.to_bytes(4, "big")
