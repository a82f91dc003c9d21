"""Flood control per source address, the way ngIRCd limits commands per client: a token
bucket per address. Pure: the caller supplies `now`."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from wire.limits import REGISTRY_BURST, REGISTRY_RATE

Addr = tuple[str, int]
Key = tuple[str, int] | str  # an address, or an IP alone

#: Messages per second one address may send the registry, on average, and in a burst above
#: the average (wire.limits: peers pace themselves below them).
RATE = REGISTRY_RATE
BURST = REGISTRY_BURST
#: Addresses tracked at once; the least recently heard is forgotten first, so that a flood
#: of spoofed source addresses cannot grow this table without bound.
MAX_TRACKED = 10_000
#: Seconds between two "you are too fast" notices to the same address.
WARN_EVERY = 5.0


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: float = float("-inf")
    dropped: int = 0


class FloodGate:
    """Decides, per message, whether an address is within its rate."""

    def __init__(self, rate: float = RATE, burst: float = BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: OrderedDict[Key, _Bucket] = OrderedDict()
        self.dropped = 0

    def admit(self, addr: Key, now: float) -> tuple[bool, bool]:
        """Return (admitted, warn): whether to handle this message, and whether to tell the
        sender now that it is being slowed (at most once per WARN_EVERY seconds)."""
        bucket = self._bucket(addr, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True, False
        bucket.dropped += 1
        self.dropped += 1
        warn = now - bucket.warned >= WARN_EVERY
        if warn:
            bucket.warned = now
        return False, warn

    def wait(self, key: Key, now: float) -> float:
        """0 when `key` is within its rate (and this use is counted); else the seconds until
        it will be, and nothing is counted."""
        bucket = self._bucket(key, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def tracked(self) -> int:
        """How many addresses the gate remembers (at most MAX_TRACKED, the oldest heard
        from forgotten first). Read-only."""
        return len(self._buckets)

    def level(self, key: Key, now: float) -> float:
        """The uses `key` has in hand at `now` (its whole burst when it has not been heard
        from lately); nothing is counted."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return self.burst
        return min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)

    def _bucket(self, addr: Key, now: float) -> _Bucket:
        """`addr`'s bucket, filled up to `now`."""
        bucket = self._buckets.get(addr)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[addr] = bucket
            if len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(addr)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        return bucket


#: Password checks (or hashes of a new name's password) one IP address may ask for in a
#: burst, and then one every PASSWORD_EVERY seconds: enough for a person who mistypes,
#: too few to guess with.
PASSWORD_BURST = 5.0
PASSWORD_EVERY = 5.0
#: Password checks the registry does in all, per second on average and in a burst. Each is
#: a scrypt of some 40 ms on the registry's only thread: at this rate they take at most
#: about a sixth of it, however many addresses (spoofed ones included) ask, and a burst
#: delays everything else by a fraction of the 500 ms that peers wait for an answer.
PASSWORD_RATE = 4.0
PASSWORD_GLOBAL_BURST = 6.0
#: The part of the checks in all kept for addresses that have asked for none lately: an
#: address that has (a guesser, once past its first) takes a check only while more than
#: this part of the global burst is left, so that one address flooding wrong passwords
#: cannot spend what honest users need, and they never wait for it.
PASSWORD_RESERVED = 0.5


class PasswordBudget:
    """How many password checks the registry does: a token bucket per IP address (a
    guesser's ports share one allowance) and one for all, so that registrations carrying
    passwords can never keep the registry's thread busy hashing (a stalled registry
    answers nobody). The per-address limit is asked first, and an address that asked
    lately may not take the global budget's last PASSWORD_RESERVED: what one address
    floods costs others nothing. Pure: the caller supplies `now`."""

    def __init__(
        self,
        *,
        burst: float = PASSWORD_BURST,
        every: float = PASSWORD_EVERY,
        rate: float = PASSWORD_RATE,
        global_burst: float = PASSWORD_GLOBAL_BURST,
        reserved: float = PASSWORD_RESERVED,
    ) -> None:
        self._per_ip = FloodGate(rate=1.0 / every, burst=burst)
        self._all = _Bucket(global_burst, float("-inf"))
        self._rate = rate
        self._global_burst = global_burst
        self._reserved = reserved * global_burst
        self.refused = 0

    def take(self, ip: str, now: float) -> float:
        """0 when a check for `ip` may be done now (and it is counted); else the seconds
        until one may, at least 1, and nothing is counted."""
        mine = self._per_ip.level(ip, now)
        if mine < 1.0:  # its own limit first: a guesser waits for itself, not for others
            self.refused += 1
            return max(1.0, (1.0 - mine) / self._per_ip.rate)
        everyone = self._all
        everyone.tokens = min(
            self._global_burst, everyone.tokens + (now - everyone.at) * self._rate
        )
        everyone.at = now
        # an address that asked lately (its allowance not whole) leaves the reserve alone
        floor = 1.0 if mine >= self._per_ip.burst else 1.0 + self._reserved
        if everyone.tokens < floor:
            self.refused += 1
            return max(1.0, (floor - everyone.tokens) / self._rate)
        self._per_ip.wait(ip, now)  # counted
        everyone.tokens -= 1.0
        return 0.0


#: New names one IP address may register per hour (a token bucket: this many at once, then
#: one each NEW_NAMES_WINDOW / NEW_NAMES seconds). A LAN machine has few people: even a
#: lab computer shared by a whole class in turn registers a few dozen names in an hour,
#: while a script registering name after name would leave thousands of offline names in
#: the table (each one pushed to every online peer, kept in the table file for good).
#: Taking back a name one has (its token, or its password) is never counted; the
#: registry's --new-names raises it (peers behind one NAT address, a benchmark).
NEW_NAMES = 50
NEW_NAMES_WINDOW = 3600.0


class NameBudget:
    """How many new names each IP address may register: a token bucket per IP (its ports
    share one allowance), so that one machine cannot fill the table with names. Pure:
    the caller supplies `now`."""

    def __init__(self, per_window: int = NEW_NAMES, window: float = NEW_NAMES_WINDOW) -> None:
        """`per_window` names at once, then that many per `window` seconds."""
        self.per_window = per_window
        self._gate = FloodGate(rate=per_window / window, burst=float(per_window))
        self.refused = 0

    def take(self, ip: str, now: float) -> float:
        """0 when `ip` may register a new name now (and it is counted); else the seconds
        until it may, at least 1, and nothing is counted."""
        wait = self._gate.wait(ip, now)
        if wait > 0:
            self.refused += 1
            return max(1.0, wait)
        return 0.0
