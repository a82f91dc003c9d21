"""The peer's requests to the registry, from sending to their answer, give-up or outcome
(docs/PROTOCOL.md). Sans-IO."""

from __future__ import annotations

import math
from collections.abc import Iterator

from peer.core.actions import Addr, Emit, SendSealed
from peer.core.request_kinds import IN_ORDER, KINDS, RequestRecord, Step
from peer.core.retry_wait import BUSY_PATIENCE, silent_wait
from peer.core.settling import Settling
from peer.core.table import Trust
from wire.codec import travels_by_stream
from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.messages import (
    Deregister,
    Join,
    Keepalive,
    Leave,
    Message,
    Register,
    RoomPost,
)
from wire.reliable import ATTEMPTS, TIMEOUT, Alarm, Retransmitter
from wire.round_trip import RTO_MAX, RoundTrip
from wire.token_bucket import FULL, BucketRule

#: Seconds to wait for the outcome of an accepted save request or post before asking again.
OUTCOME_WAIT = 10.0
#: Requests given up on whose late answer is still taken (registrations, joins, renames).
GIVEN_UP_KEPT = 16
#: Rounds of tries a request is given beyond its first when the registry was heard from
#: during the last: it runs, and the copies or their answers were lost (see `due`). At 30%
#: loss a round fails about once in 30; four in a row, once in a million.
EXTRA_ROUNDS = 3
#: The longest wait between two copies of a registration: each waits twice the one before,
#: from the round trip's timeout (0.5 s), so that a registry slow to answer a join storm is
#: sent fewer copies (each a Welcome again, and a handshake again).
REGISTER_BACK_OFF = 2.0
#: The pace of what the user types: below the registry's flood gate (wire.limits), which
#: also counts acks, keepalives and retries; a script's lines wait here, in order.
PACE_RATE = REGISTRY_RATE * 0.8
PACE_BURST = REGISTRY_BURST * 0.5


class Outcomes:
    """The outcome of the saves and posts the registry accepted, awaited OUTCOME_WAIT
    seconds; and the last GIVEN_UP_KEPT registrations, joins and renames given up on, whose
    late answer is still taken."""

    def __init__(self, alarm: Alarm) -> None:
        self._alarm = alarm
        #: Those awaited, by id, in the order of their deadlines (read-only outside).
        self.awaited: dict[str, tuple[Message, float]] = {}
        #: Those given up on, by id, oldest first (read-only outside).
        self.given_up: dict[str, Message] = {}
        # those accepted at least once, by id, until their outcome (`in` asks; see `wait`)
        self._accepted: dict[str, Message] = {}
        self._kept: set[str] = set()  # ids of saves from the outbox

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._accepted

    def wait(self, message: Message, now: float, *, kept: bool = False) -> bool:
        """The registry accepted `message` (`kept`: a save from the outbox) at `now`: its
        outcome awaited. True the first time only (asking again is not said twice)."""
        if kept:
            self._kept.add(message.id)
        if message.id not in self.awaited:
            self.awaited[message.id] = (message, now + OUTCOME_WAIT)
            self._alarm.lower(now + OUTCOME_WAIT)
        if message.id in self._accepted:
            return False
        self._accepted[message.id] = message
        return True

    def stop_awaiting(self, msg_id: str) -> Message | None:
        """The outcome of `msg_id` came, or is given up: the message, if accepted."""
        self.awaited.pop(msg_id, None)
        return self._accepted.pop(msg_id, None)

    def of_kept(self, msg_id: str) -> bool:
        """Whether save `msg_id` came from the outbox; forgotten once asked."""
        kept = msg_id in self._kept
        self._kept.discard(msg_id)
        return kept

    def over(self, now: float) -> Iterator[Message]:
        """Each one past its deadline, no longer awaited, for the caller to ask again."""
        while self.awaited:
            key, (message, deadline) = next(iter(self.awaited.items()))
            if deadline > now:
                return
            del self.awaited[key]
            yield message

    def next_wake(self) -> float | None:
        return next(iter(self.awaited.values()))[1] if self.awaited else None

    def give_up(self, message: Message) -> None:
        self.given_up[message.id] = message
        while len(self.given_up) > GIVEN_UP_KEPT:
            del self.given_up[next(iter(self.given_up))]

    def take_given_up(self, msg_id: str) -> Message | None:
        return self.given_up.pop(msg_id, None)


class Order:
    """What the user typed that may not go yet, in the order typed: held behind the request
    waited for, or waiting for the pace (a token bucket of `rate` and `burst`)."""

    def __init__(self, rate: float = PACE_RATE, burst: float = PACE_BURST) -> None:
        self.rule = BucketRule(rate, burst)
        self._due = FULL  # when the next message is due at the average rate
        #: The request what is typed next waits for (a long one, or a kept one), and those
        #: held behind it.
        self.waited_for: str | None = None
        self.held: dict[str, RequestRecord] = {}
        #: What waits for the pace, by id, in the order typed.
        self.paced: dict[str, RequestRecord] = {}

    def pace_allows(self, now: float) -> bool:
        taken, self._due = self.rule.take(self._due, now)
        return taken

    def next_at(self) -> float:
        return self.rule.next_at(self._due)

    def over(self, msg_id: str) -> bool:
        """Request `msg_id` was answered or given up: True when it was the one waited for."""
        if msg_id != self.waited_for:
            return False
        self.waited_for = None
        return True

    def hold(self, request: RequestRecord) -> None:
        if request.message.id not in self.held:
            self.held[request.message.id] = request.to(Step.HOLD)

    def take_held(self) -> list[RequestRecord]:
        held = list(self.held.values())
        self.held.clear()  # the same dict: `Requests.on_its_way` views it
        return held

    def wait(self, request: RequestRecord) -> bool:
        """`request` waits for the pace, after those waiting already; False if it does."""
        if request.message.id in self.paced:
            return False
        self.paced[request.message.id] = request.to(Step.PACE)
        return True

    def room_line(self, sent: list[RequestRecord], accepted: Outcomes) -> str | None:
        """The id of the last room line waiting for the pace, else of the last `sent` and
        not `accepted` yet, or None: a leave or join typed now waits for it."""
        for request in reversed(self.paced.values()):
            if isinstance(request.message, RoomPost):
                return request.message.id
        for request in reversed(sent):
            if isinstance(request.message, RoomPost) and request.message.id not in accepted:
                return request.message.id
        return None

    def messages(self) -> list[Message]:
        return [r.message for r in (*self.paced.values(), *self.held.values())]


class Requests:
    """The requests of one peer to the registry at `server`; `timeout` and `attempts`: the
    retry rule (wire.reliable); `alarm` is lowered to each deadline armed."""

    def __init__(
        self,
        server: Addr,
        settling: Settling,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        alarm: Alarm | None = None,
    ) -> None:
        self.server = server  # where requests go: the registry used now (`move_to`)
        #: What requests are sealed for (`registry`): the peer's own Trust, given by Shared.
        self.trust = Trust(b"", lambda name: None)
        self._settling = settling  # the outbox: its messages, and the ids `held`
        self._held = settling.held
        self.alarm = alarm or Alarm()
        self.round_trip = RoundTrip(timeout, max(timeout, RTO_MAX))  # the registry's
        #: The peer's keepalive period: no copy of a keepalive waits longer (set by PeerCore).
        self.keepalive = math.inf
        self._sent: Retransmitter[RequestRecord] = Retransmitter(
            timeout, attempts, self.alarm, self.round_trip
        )
        #: What the user typed that may not go yet.
        self.order = Order()
        # over TCP: waited for while its connection is open (`due`: its end, `ended`)
        self._streamed: dict[str, RequestRecord] = {}
        #: What became of requests out of flight.
        self.outcomes = Outcomes(self.alarm)
        #: Requests answered Busy, or waiting after a silent round, each until its `due`.
        self.waits: dict[str, RequestRecord] = {}
        #: Where requests not answered wait, as live views: is any not empty, per line typed.
        self.on_its_way = (self._sent.waiting, self._streamed, self.order.held, self.order.paced)
        # the kinds on their way when `any_of` last looked, and those sent since: no fewer
        self._kinds: set[type[Message]] = set()

    def send(
        self,
        message: Message,
        now: float,
        emit: Emit,
        quiet: bool = False,
        *,
        kept: Message | None = None,
    ) -> None:
        """Send `message` and wait for its answer; `quiet`: an outbox retry, its failure not
        said again. What the user typed goes at the pace, in the order typed (`_waits`).
        `kept`: the first kept message not on its way, sent in place of `message`, which
        is held after the outbox (unless kept itself, or a dereg)."""
        self._kinds.add(type(message))
        if isinstance(message, IN_ORDER) and self._waits(message, now, emit, quiet, kept):
            return
        if KINDS[type(message)].always_streams:  # a whole table: asked over TCP at once
            self._over_tcp(RequestRecord(message, quiet), now)
            emit(SendSealed(self.server, message, self.trust.registry, stream=True))
            return
        self._start(RequestRecord(message, quiet), now)
        emit(SendSealed(self.server, message, self.trust.registry))

    def _waits(
        self, message: Message, now: float, emit: Emit, quiet: bool, kept: Message | None
    ) -> bool:
        """Whether `message` waits: behind the request waited for, a leave or join behind a
        room line on its way, anything behind the outbox, or for the pace."""
        order = self.order
        if order.waited_for is not None and message.id != order.waited_for:
            order.hold(RequestRecord(message, quiet))
            return True
        line = None
        if isinstance(message, (Leave, Join)):
            line = order.room_line(self._sent.items(), self.outcomes)
        if line is not None:
            # the leave or join would take us out of the line's room before it arrived
            order.waited_for = line
            order.hold(RequestRecord(message, quiet))
            return True
        if kept is not None and message.id not in self._held and type(message) is not Deregister:
            # the outbox was given up on: the first kept one goes now, as a probe, and this
            # one after the outbox (or fails with the probe: RegistryLink.over). A dereg
            # does not wait: leaving keeps the outbox for the next start.
            order.hold(RequestRecord(message, quiet))
            self.send(kept, now, emit, quiet=True)
            return True
        long = KINDS[type(message)].streams and travels_by_stream(message)
        if long or message.id in self._held:
            order.waited_for = message.id
        if order.paced or not order.pace_allows(now):
            if order.wait(RequestRecord(message, quiet)):
                self.alarm.lower(order.next_at())
            return True
        return False

    def _start(self, request: RequestRecord, now: float, again: bool = False) -> None:
        """`request` was sent at `now`: a round of tries begins (`again`: after `due`). Copies
        of a registration wait ever longer (REGISTER_BACK_OFF), of a keepalive a period at most."""
        request.since, key, sent, kind = now, request.message.id, self._sent, type(request.message)
        request.to(Step.AGAIN if again else Step.SEND)
        self._kinds.add(kind)
        back_off_to = REGISTER_BACK_OFF if kind is Register else 0.0
        most = self.keepalive if kind is Keepalive else math.inf
        if again:
            sent.again(key, request, now, back_off_to, most)
        else:
            sent.start(key, request, now, back_off_to, most)

    def send_again(self, now: float, emit: Emit, *, moved: bool = False) -> None:
        """Send every request in flight again, oldest first, in a new round; `moved`: even
        those sent at `now`."""
        for request in self._sent.renew(now, every=moved):
            request.since = now
            emit(SendSealed(self.server, request.message, self.trust.registry))

    def move_to(self, server: Addr) -> None:
        """Requests go to `server` from now on: its round trip is measured afresh."""
        if server != self.server:
            self.server = server
            self.round_trip.restart()

    def send_paced(self, now: float, emit: Emit) -> None:
        order = self.order
        while order.paced and order.pace_allows(now):
            request = order.paced.pop(next(iter(order.paced)))
            self._start(request, now)
            emit(SendSealed(self.server, request.message, self.trust.registry))

    def next_kept(self, *, rejoining: bool) -> Message | None:
        """The first kept message not on its way yet; None when there is none, or when it
        is a room line or leave and `rejoining`."""
        for message in self._settling.outbox:
            if rejoining and isinstance(message, RoomPost | Leave):
                return None
            msg_id = message.id
            on_its_way = self._sent.get(msg_id) is not None or msg_id in self._streamed
            if not on_its_way and msg_id not in self.order.paced:
                return message
        return None

    def take_back(self, due: list[RequestRecord], now: float) -> None:
        """`due` (by `due`: given up, or not) wait in a new round, in their places, from `now`."""
        for request in due:
            request.rounds = 0
            self._start(request, now, True)

    def due(
        self, now: float, heard: float = -math.inf, away: bool = False
    ) -> tuple[list[RequestRecord], list[RequestRecord]]:
        """The requests to send again at `now`, and those given up on, oldest first. A round
        run out is given up only when the registry was not `heard` during it, or after
        EXTRA_ROUNDS more (one whose connection ended unanswered always has those, and a
        keepalive unless the registry is `away`: a probe is one round); one answered Busy
        rounds until BUSY_PATIENCE from its first Busy."""
        again, failed = self._sent.due(now)
        streamed = [request for request in self._streamed.values() if request.due <= now]
        for request in streamed:
            del self._streamed[request.message.id]
        failed += streamed
        if not failed:
            return again, failed
        again_round: list[RequestRecord] = []
        given_up: list[RequestRecord] = []
        for request in failed:
            if request.busy_since is not None and now - request.busy_since < BUSY_PATIENCE:
                self._start(request, now, True)  # no round counted: a wait was asked
                again_round.append(request)
            elif (
                heard > request.since
                or (type(request.message) is Keepalive and not away)
                or request in streamed
            ) and request.rounds < EXTRA_ROUNDS:
                request.rounds += 1
                self._start(request, now, True)
                again_round.append(request)
            else:
                request.busy_since = None  # its first Busy no longer counts
                given_up.append(request.to(Step.GIVE_UP))
        return again_round + again, given_up

    def next_wake(self) -> float | None:
        wakes = [
            self._sent.next_wake(),
            self.order.next_at() if self.order.paced else None,
            self.outcomes.next_wake(),
            *(r.due for r in (*self.waits.values(), *self._streamed.values()) if r.due < math.inf),
        ]
        return min((wake for wake in wakes if wake is not None), default=None)

    def answer_came(self, msg_id: str, now: float | None = None) -> RequestRecord | None:
        """The answer to request `msg_id` came at `now` (None: not measured): the request,
        no longer waited for (None: it was not)."""
        request = self._take(msg_id, now)
        return None if request is None else request.to(Step.ANSWER)

    def _take(self, msg_id: str, now: float | None) -> RequestRecord | None:
        request = self._sent.answer(msg_id, now)
        request = self.waits.pop(msg_id, None) or request or self._streamed.pop(msg_id, None)
        if request is not None:
            request.silent_since, request.silent_waits = None, 0
        return request

    def stream(self, msg_id: str, now: float) -> RequestRecord | None:
        """A TooBig answered `msg_id` at `now`: the request, for the caller to send over TCP,
        its answer awaited while its connection is open (None: not waited for)."""
        request = self._sent.answer(msg_id, now)
        if request is not None:
            self._over_tcp(request, now)
        return request

    def _over_tcp(self, request: RequestRecord, now: float) -> None:
        request.since = now  # its round over TCP begins
        request.due = math.inf
        self._streamed[request.message.id] = request.to(Step.STREAM)

    def ended(self, msg_id: str, now: float) -> None:
        """The connection that sent `msg_id` ended at `now`: unanswered, its round is over."""
        if msg_id in self._streamed:
            self._streamed[msg_id].due = now
            self.alarm.lower(now)

    def busy(self, msg_id: str, wait: float, now: float) -> tuple[RequestRecord | None, bool]:
        """A Busy answered `msg_id` at `now`: the request goes again `wait` seconds on. It,
        and whether this is its first Busy; (None, False): not waited for."""
        request = self._take(msg_id, now)
        if request is None:
            return None, False
        # the first Busy still counts: a late copy's must not start the patience afresh
        first = request.busy_since is None
        if first:
            request.busy_since = now
        self._wait(request.to(Step.BUSY), now + wait)
        return request, first

    def exhausted(self, msg_id: str, now: float) -> bool:
        """Whether request `msg_id` has been answered Busy for BUSY_PATIENCE already."""
        request = self._sent.get(msg_id) or self.waits.get(msg_id) or self._streamed.get(msg_id)
        since = None if request is None else request.busy_since
        return since is not None and now - since >= BUSY_PATIENCE

    def after_silence(self, request: RequestRecord, now: float, patience: float) -> bool:
        """`request`, unanswered and unheard of all its round ending at `now`, waits before
        it goes again (`silent_wait`), unless `patience` seconds have passed since its first
        silent round: False then, and its silent rounds are forgotten."""
        first = now if request.silent_since is None else request.silent_since
        if now - first >= patience:
            request.silent_since, request.silent_waits = None, 0
            return False
        self._wait(
            request.to(Step.BUSY), now + silent_wait(request.message.id, request.silent_waits)
        )
        request.silent_since, request.silent_waits = first, request.silent_waits + 1
        return True

    def _wait(self, request: RequestRecord, due: float) -> None:
        request.due = due
        self.waits[request.message.id] = request
        self.alarm.lower(due)

    def busy_over(self, now: float) -> Iterator[RequestRecord]:
        """Each request whose wait is over at `now`, in flight again, for the caller to send."""
        for request in [r for r in self.waits.values() if r.due <= now]:
            del self.waits[request.message.id]
            self._start(request, now, True)  # a copy: its answer is no sample
            yield request

    def messages(
        self, *, streamed: bool = False, held: bool = False, given_up: bool = False
    ) -> list[Message]:
        """The requests sent as datagrams and not answered, oldest first; then, if asked,
        those over TCP, held, and given up on lately."""
        found = [r.message for r in self._sent.items()]
        if streamed and self._streamed:
            found += [r.message for r in self._streamed.values()]
        if held:
            found += self.order.messages()
        if given_up and self.outcomes.given_up:
            found += self.outcomes.given_up.values()
        return found

    def registers(self) -> list[Register]:
        """The `reg`s going on: sent and not answered, or waiting after a Busy."""
        found = self.messages() + [r.message for r in self.waits.values()]
        return [m for m in found if isinstance(m, Register)]

    def any_of(
        self, kinds: type[Message] | tuple[type[Message], ...], *, streamed: bool = False
    ) -> bool:
        """Whether a request of `kinds` is sent and not answered (`streamed`: or over TCP),
        held, or waiting for the pace: by exact type (none has a subclass). Asked per line
        typed, it looks among those on their way only when one of `kinds` was sent since."""
        wanted = {kinds} if isinstance(kinds, type) else set(kinds)
        if wanted.isdisjoint(self._kinds):
            return False  # (a burst's lines: nothing else was sent)
        waiting = self.messages(streamed=True, held=True)
        self._kinds = set(map(type, waiting))
        found = waiting if streamed else self.messages(held=True)
        return not wanted.isdisjoint(map(type, found))

    def holds(self, msg_id: str) -> bool:
        """Whether `msg_id` is not answered, held, or awaiting its outcome."""
        return msg_id in self.outcomes.awaited or any(msg_id in on for on in self.on_its_way)

    def undelivered(self, kinds: tuple[type[Message], ...]) -> list[Message]:
        """The requests of `kinds` not answered (but outbox retries), then all held, then
        all awaiting their outcome."""
        requests = [*self._sent.items(), *self._streamed.values()]
        return [
            *(r.message for r in requests if isinstance(r.message, kinds) and not r.quiet),
            *self.order.messages(),
            *(save for save, _ in self.outcomes.awaited.values()),
        ]
