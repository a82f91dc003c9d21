"""Flood control per source address, the way ngIRCd limits commands per client: a token
bucket per address (wire.token_bucket). Pure: the caller supplies `now`."""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple, TypedDict, Unpack

from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.token_bucket import FULL, BucketRule

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


class FloodGate:
    """Decides, per message, whether an address is within its rate."""

    def __init__(self, rate: float = RATE, burst: float = BURST) -> None:
        """Raises ValueError unless `rate` is positive and `burst` at least 1."""
        self._rule = BucketRule(rate, burst)
        # each address's bucket, by its due time alone (one float: there may be MAX_TRACKED),
        # the least recently heard first
        self._dues: OrderedDict[Key, float] = OrderedDict()
        # when each address was last told it is too fast: only those told, all tracked
        self._warned: dict[Key, float] = {}
        self.dropped = 0

    @property
    def rate(self) -> float:
        """Uses a second each key may make on average."""
        return self._rule.rate

    @property
    def burst(self) -> float:
        """Uses each key may make at once, above its average."""
        return self._rule.burst

    def admit(self, addr: Key, now: float) -> tuple[bool, bool]:
        """Return (admitted, warn): whether to handle this message, and whether to tell the
        sender now that it is being slowed (at most once per WARN_EVERY seconds)."""
        taken, _ = self._take(addr, now)
        if taken:
            return True, False
        self.dropped += 1
        warn = now - self._warned.get(addr, float("-inf")) >= WARN_EVERY
        if warn:
            self._warned[addr] = now
        return False, warn

    def wait(self, key: Key, now: float) -> float:
        """0 when `key` is within its rate (and this use is counted); else the seconds until
        it will be, and nothing is counted."""
        taken, due = self._take(key, now)
        return 0.0 if taken else self._rule.wait(due, now)

    def ready_in(self, key: Key, now: float) -> float:
        """The seconds until `key` is within its rate (0: it is now, as `wait` would say);
        nothing is counted."""
        due = self._dues.get(key)
        return 0.0 if due is None else self._rule.wait(due, now)

    def tracked(self) -> int:
        """How many addresses the gate remembers (at most MAX_TRACKED, the oldest heard
        from forgotten first). Read-only."""
        return len(self._dues)

    def level(self, key: Key, now: float) -> float:
        """The uses `key` has in hand at `now` (its whole burst when it has not been heard
        from lately); nothing is counted."""
        due = self._dues.get(key)
        return self.burst if due is None else self._rule.level(due, now)

    def _take(self, key: Key, now: float) -> tuple[bool, float]:
        """Whether `key` may make one use at `now` (counted if so), and its bucket's due
        time afterwards; `key` becomes the most recently heard."""
        dues = self._dues
        due = dues.get(key)
        if due is None:
            due = FULL
        else:
            dues.move_to_end(key)
        taken, due = self._rule.take(due, now)
        dues[key] = due
        if len(dues) > MAX_TRACKED:
            forgotten, _ = dues.popitem(last=False)
            self._warned.pop(forgotten, None)
        return taken, due


#: Password checks (or hashes of a new name's password) one IP address may ask for in a
#: burst, and then one every PASSWORD_EVERY seconds: enough for a person who mistypes,
#: too few to guess with.
PASSWORD_BURST = 5.0
PASSWORD_EVERY = 5.0
#: Password checks the registry does in all, per second on average and in a burst. Each is
#: a scrypt of some 0.3 s (registry/credentials.py), run off the event loop's thread on
#: two threads of its own (registry/password_checks.py), which do some 6 a second on two
#: cores: at this rate they keep up, however many addresses ask, and the registry goes on
#: answering everything else meanwhile. A burst waits its turn there: at most some 1.5 s,
#: well within the 2.5 s a peer waits for its Welcome.
PASSWORD_RATE = 5.0
PASSWORD_GLOBAL_BURST = 8.0
#: The part of the checks in all kept for addresses that sent no wrong password lately: an
#: address that has (a guesser, once past its first) takes a check only while more than
#: this part of the global burst is left, so that addresses guessing cannot spend what
#: honest users need, and they never wait for it.
PASSWORD_RESERVED = 0.5
#: Seconds an address waits after its first wrong password before its next check; each
#: wrong one after it doubles the wait, up to WRONG_WAIT_MOST. A person who mistypes waits
#: a second or two; a guesser at one address tries a dozen passwords in its first hour and
#: then one an hour, of whatever names. Only the guessing address waits: a name's owner
#: typing the right password on a machine of their own is never held up by it.
WRONG_WAIT_FIRST = 1.0
WRONG_WAIT_MOST = 3600.0
#: Seconds after an address's last wrong password when it is forgotten, and its wait starts
#: over from WRONG_WAIT_FIRST.
WRONG_FORGOTTEN = 24 * 3600.0


class PasswordLimits(TypedDict, total=False):
    """A PasswordBudget's limits: `burst` checks per IP address, then one each `every`
    seconds; `rate` a second in all, `global_burst` at once, of which the `reserved` part
    is kept from addresses that sent a wrong password lately; after a wrong password, its
    address waits `wrong_first` seconds, doubled for each wrong one after it up to
    `wrong_most`. Each defaults to the constant above it."""

    burst: float
    every: float
    rate: float
    global_burst: float
    reserved: float
    wrong_first: float
    wrong_most: float


class _Wrong(NamedTuple):
    """An address's wrong passwords lately, and until when it waits."""

    times: int
    until: float


class PasswordBudget:
    """How many password checks the registry does: a token bucket per IP address (a
    guesser's ports share one allowance), one for all, so that registrations carrying
    passwords can never keep the registry's thread busy hashing (a stalled registry
    answers nobody), and a wait after each wrong password that doubles for the address
    that sent it. An address that sent a wrong password lately may not take the global
    budget's last PASSWORD_RESERVED. Nothing is counted per name: what guessers send costs
    the name's owner, typing the right password at an address of their own, nothing.
    Pure: the caller supplies `now`."""

    def __init__(self, **limits: Unpack[PasswordLimits]) -> None:
        """Each of PasswordLimits given replaces its default (tests set a few: keywords,
        rather than seven parameters every caller lines up)."""
        every = limits.get("every", PASSWORD_EVERY)
        self._per_ip = FloodGate(rate=1.0 / every, burst=limits.get("burst", PASSWORD_BURST))
        global_burst = limits.get("global_burst", PASSWORD_GLOBAL_BURST)
        self._rule = BucketRule(limits.get("rate", PASSWORD_RATE), global_burst)
        self._all = FULL  # the due time of the checks in all (wire.token_bucket)
        self._reserved = limits.get("reserved", PASSWORD_RESERVED) * global_burst
        self._wrong_first = limits.get("wrong_first", WRONG_WAIT_FIRST)
        self._wrong_most = limits.get("wrong_most", WRONG_WAIT_MOST)
        # addresses that sent a wrong password lately, the least recently first
        self._wrong: OrderedDict[str, _Wrong] = OrderedDict()
        self.refused = 0

    def waiting(self, ip: str, now: float) -> float:
        """The seconds `ip` still waits after its last wrong password (0: it does not)."""
        wrong = self._wrong.get(ip)
        return 0.0 if wrong is None else max(0.0, wrong.until - now)

    def take(self, ip: str, now: float) -> float:
        """0 when a check of a password for `ip` (or a hash of a new name's) may be done
        now (and it is counted); else the seconds until one may, at least 1, and nothing is
        counted."""
        waits = self.waiting(ip, now)
        if waits > 0:  # its own wrong guesses first: a guesser waits for itself alone
            self.refused += 1
            return max(1.0, waits)
        mine = self._per_ip.ready_in(ip, now)
        if mine > 0:
            self.refused += 1
            return max(1.0, mine)
        # an address that sent a wrong password lately leaves the reserve alone
        keep = self._reserved if self.guessed(ip, now) else 0.0
        taken, self._all = self._rule.take(self._all, now, keep)
        if not taken:
            self.refused += 1
            return max(1.0, self._rule.wait(self._all, now, keep))
        self._per_ip.wait(ip, now)  # counted: one is in hand, as `ready_in` said
        return 0.0

    def guessed(self, ip: str, now: float) -> bool:
        """Whether `ip` sent a wrong password lately (within WRONG_FORGOTTEN of the end of
        its last wait)."""
        wrong = self._wrong.get(ip)
        return wrong is not None and now - wrong.until <= WRONG_FORGOTTEN

    def wrong(self, ip: str, now: float) -> None:
        """A password checked for `ip` was wrong: it waits before its next check, twice as
        long as after its wrong one before (a right one changes nothing: its owner, typing
        it on machine after machine, is not a guesser)."""
        wrong = self._wrong.pop(ip, _Wrong(0, now))
        count = 1 if now - wrong.until > WRONG_FORGOTTEN else wrong.times + 1
        wait = min(self._wrong_first * 2 ** min(count - 1, 62), self._wrong_most)
        self._wrong[ip] = _Wrong(count, now + wait)
        while len(self._wrong) > MAX_TRACKED:
            self._wrong.popitem(last=False)


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
