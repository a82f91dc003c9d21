"""The registry's budgets: messages per address (the flood gate of wire/flood_gate.py),
password checks, and new names. Pure: the caller supplies `now`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from wire.flood_gate import MAX_TRACKED, WARN_EVERY, FloodGate
from wire.messages import Ack, Acks, Message
from wire.token_bucket import FULL, BucketRule

# the gate itself is the peers' too (wire/flood_gate.py)
__all__ = ["MAX_TRACKED", "SLOWED", "WARN_EVERY", "FloodGate"]

Addr = tuple[str, int]

#: What an address over its rate is told (at most once every WARN_EVERY seconds). Nothing
#: is lost: a peer sends again what is not answered (5 tries, then its outbox); "dropping
#: your messages" read as lost, after a script's 1000 saves.
SLOWED = (
    "You are sending too fast: the registry is slowing you down, and what it drops is sent again."
)
#: What answers a push: counted only while the registry lags (see `count_requests`).
ACKS: Final = frozenset({Ack, Acks})


def count_requests(
    messages: list[Message],
    admit: Callable[[Addr, float], bool],
    addr: Addr,
    now: float,
    lagging: bool,
) -> int:
    """Offer each of `messages`, one datagram from `addr` at `now`, to `admit` (the
    address's flood gate); its acks only when `lagging` (the last drain left datagrams
    waiting): they answer what the registry pushed, but a session that floods them must not
    hold the registry behind. From the first refused on, they are dropped. The datagram was
    opened before any gate (its AEAD proves who sealed it: net/endpoint.py,
    EndpointOptions.gate). How many requests (not acks) are kept."""
    requests = 0
    for index, message in enumerate(messages):
        request = type(message) not in ACKS
        if (lagging or request) and not admit(addr, now):
            del messages[index:]
            break
        requests += request
    return requests


#: Password checks (or hashes of a new name's password) one IP address may ask for in a
#: burst, and then one every PASSWORD_EVERY seconds: enough for a person who mistypes,
#: too few to guess with.
PASSWORD_BURST = 5.0
PASSWORD_EVERY = 5.0
#: Password checks the registry does in all, per second on average and in a burst. Each is
#: a scrypt of some 0.3 s (registry/core/credentials.py), run off the event loop's thread on
#: two threads of its own (registry/adapter/password_checks.py), which do some 6 a second on two
#: cores: at this rate they keep up, however many addresses ask, and the registry goes on
#: answering everything else meanwhile. A burst waits its turn there: at most some 1.6 s,
#: within the 2.5 s a peer waits for its Welcome (tests/test_timing_constants.py).
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


#: An address's wrong passwords lately, and until when it waits.
_Wrong = tuple[int, float]


class PasswordBudget:
    """How many password checks the registry does: a token bucket per IP address (a
    guesser's ports share one allowance), one for all, so that registrations carrying
    passwords can never keep the registry's thread busy hashing (a stalled registry
    answers nobody), and a wait after each wrong password that doubles for the address
    that sent it. An address that sent a wrong password lately may not take the global
    budget's last PASSWORD_RESERVED. Nothing is counted per name: what guessers send costs
    the name's owner, typing the right password at an address of their own, nothing.
    Pure: the caller supplies `now`."""

    def __init__(self) -> None:
        self._per_ip = FloodGate(rate=1.0 / PASSWORD_EVERY, burst=PASSWORD_BURST)
        self._rule = BucketRule(PASSWORD_RATE, PASSWORD_GLOBAL_BURST)
        self._all = FULL  # the due time of the checks in all (wire.token_bucket)
        # addresses that sent a wrong password lately, the least recently first
        self._wrong: OrderedDict[str, _Wrong] = OrderedDict()
        self.refused = 0

    def waiting(self, ip: str, now: float) -> float:
        """The seconds `ip` still waits after its last wrong password (0: it does not)."""
        wrong = self._wrong.get(ip)
        return 0.0 if wrong is None else max(0.0, wrong[1] - now)

    def charge(self, ip: str, now: float) -> float:
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
        keep = PASSWORD_RESERVED * PASSWORD_GLOBAL_BURST if self.guessed(ip, now) else 0.0
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
        return wrong is not None and now - wrong[1] <= WRONG_FORGOTTEN

    def wrong(self, ip: str, now: float) -> None:
        """A password checked for `ip` was wrong: it waits before its next check, twice as
        long as after its wrong one before (a right one changes nothing: its owner, typing
        it on machine after machine, is not a guesser)."""
        times, until = self._wrong.pop(ip, (0, now))
        count = 1 if now - until > WRONG_FORGOTTEN else times + 1
        wait = min(WRONG_WAIT_FIRST * 2 ** min(count - 1, 62), WRONG_WAIT_MOST)
        self._wrong[ip] = (count, now + wait)
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

    def charge(self, ip: str, now: float) -> float:
        """0 when `ip` may register a new name now (and it is counted); else the seconds
        until it may, at least 1, and nothing is counted."""
        wait = self._gate.wait(ip, now)
        if wait > 0:
            self.refused += 1
            return max(1.0, wait)
        return 0.0
