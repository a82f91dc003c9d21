"""The registry's budgets: messages per address (the flood gate of wire/token_bucket.py),
password checks, and new names."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from registry.core.actions import Addr
from wire.messages import Ack, Acks, Message
from wire.token_bucket import FULL, MAX_TRACKED, WARN_EVERY, BucketRule, FloodGate

# the gate itself is the peers' too (wire/token_bucket.py)
__all__ = ["MAX_TRACKED", "SLOWED", "WARN_EVERY", "FloodGate"]

#: What an address over its rate is told (at most once every WARN_EVERY seconds). Nothing
#: is lost: a peer sends again what is not answered; "dropping your messages" read as lost.
SLOWED = (
    "You are sending too fast: the registry is slowing you down, and what it drops is sent again."
)
ACKS: Final = frozenset({Ack, Acks})


def count_requests(
    messages: list[Message],
    admit: Callable[[Addr, float], bool],
    addr: Addr,
    now: float,
    lagging: bool,
) -> int:
    """Offer each of `messages`, one datagram from `addr`, to `admit` (the address's flood
    gate), its acks only when `lagging` (a session that floods acks must not hold a lagging
    registry behind); from the first refused on, they are dropped. How many requests (not
    acks) are kept."""
    requests = 0
    for index, message in enumerate(messages):
        request = type(message) not in ACKS
        if (lagging or request) and not admit(addr, now):
            del messages[index:]
            break
        requests += request
    return requests


#: Password checks (or hashes of a new name's password) one IP address may ask for in a
#: burst, then one every PASSWORD_EVERY seconds: enough for a person who mistypes.
PASSWORD_BURST = 5.0
PASSWORD_EVERY = 5.0
#: Password checks the registry does in all, per second and in a burst: each is a scrypt
#: of some 0.3 s on two threads of its own (registry/adapter/password_checks.py), so at
#: this rate they keep up, and a burst waits at most some 1.6 s, within the 2.5 s a peer
#: waits for its Welcome (tests/test_timing_constants.py).
PASSWORD_RATE = 5.0
PASSWORD_GLOBAL_BURST = 8.0
#: The part of the global burst an address that sent a wrong password lately may not
#: take: guessers cannot spend what honest users need.
PASSWORD_RESERVED = 0.5
#: Seconds an address waits after its first wrong password; each wrong one after it
#: doubles the wait, up to WRONG_WAIT_MOST. Only the guessing address waits.
WRONG_WAIT_FIRST = 1.0
WRONG_WAIT_MOST = 3600.0
#: Seconds after an address's last wrong password when its wait starts over.
WRONG_FORGOTTEN = 24 * 3600.0


class PasswordBudget:
    """How many password checks the registry does: a token bucket per IP address, one for
    all (a registry busy hashing answers nobody), and a doubling wait after each wrong
    password for the address that sent it. Nothing is counted per name: what guessers send
    costs the name's owner nothing."""

    def __init__(self) -> None:
        self._per_ip = FloodGate(rate=1.0 / PASSWORD_EVERY, burst=PASSWORD_BURST)
        self._rule = BucketRule(PASSWORD_RATE, PASSWORD_GLOBAL_BURST)
        self._all = FULL  # the due time of the checks in all (wire.token_bucket)
        # addresses that sent a wrong password lately, the least recently first: how many
        # wrong, and until when the address waits
        self._wrong: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self.refused = 0

    def waiting(self, ip: str, now: float) -> float:
        """The seconds `ip` still waits after its last wrong password (0: it does not)."""
        wrong = self._wrong.get(ip)
        return 0.0 if wrong is None else max(0.0, wrong[1] - now)

    def charge(self, ip: str, now: float) -> float:
        """0 when a check for `ip` may be done now (and it is counted); else the seconds
        until one may, at least 1, and nothing is counted."""
        # its own wrong guesses first: a guesser waits for itself alone
        wait = self.waiting(ip, now) or self._per_ip.ready_in(ip, now)
        if not wait:
            keep = PASSWORD_RESERVED * PASSWORD_GLOBAL_BURST if self.guessed(ip, now) else 0.0
            taken, self._all = self._rule.take(self._all, now, keep)
            if taken:
                self._per_ip.wait(ip, now)  # counted: one is in hand, as `ready_in` said
                return 0.0
            wait = self._rule.wait(self._all, now, keep)
        self.refused += 1
        return max(1.0, wait)

    def guessed(self, ip: str, now: float) -> bool:
        """Whether `ip` sent a wrong password within WRONG_FORGOTTEN of its last wait's end."""
        wrong = self._wrong.get(ip)
        return wrong is not None and now - wrong[1] <= WRONG_FORGOTTEN

    def wrong(self, ip: str, now: float) -> None:
        """A password checked for `ip` was wrong: it waits twice as long as after its wrong
        one before (a right one changes nothing)."""
        times, until = self._wrong.pop(ip, (0, now))
        count = 1 if now - until > WRONG_FORGOTTEN else times + 1
        wait = min(WRONG_WAIT_FIRST * 2 ** min(count - 1, 62), WRONG_WAIT_MOST)
        self._wrong[ip] = (count, now + wait)
        while len(self._wrong) > MAX_TRACKED:
            self._wrong.popitem(last=False)


#: New names one IP address may register per hour (a token bucket: this many at once):
#: a lab computer shared by a class registers a few dozen, a script thousands (each pushed
#: to every peer, kept for good). Taking back a name one has is never counted;
#: --new-names raises it (peers behind one NAT address, a benchmark).
NEW_NAMES = 50
