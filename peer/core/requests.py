"""The peer's requests to the registry, from sending to their answer, give-up or outcome
(docs/PROTOCOL.md): one record each, by id, its stage saying where it is. Sans-IO."""

from __future__ import annotations

import math
from typing import Final

from peer.core.actions import Addr, Emit, SendSealed
from peer.core.request_kinds import IN_ORDER, KINDS, RequestRecord, Stage, Step
from peer.core.retry_wait import BUSY_PATIENCE, SilentRounds
from peer.core.settling import Settling
from peer.core.table import Trust
from wire.codec import travels_by_stream
from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.messages import Deregister, Join, Keepalive, Leave, Message, Register, RoomPost
from wire.reliable import ATTEMPTS, RTO_MAX, TIMEOUT, Alarm, Retransmitter, RoundTrip
from wire.token_bucket import FULL, BucketRule

#: Seconds between keepalives (or probes of the outbox while the registry is away).
KEEPALIVE: Final = 10.0
#: Keepalive periods a first registration is tried for while the registry stays silent,
#: less and less often (as TCP gives up a connection after its SYNs' bound).
SILENT_KEEPALIVES: Final = 6
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

_S = Stage
#: Where an answer is taken: sent and not answered, over TCP, waiting after a Busy.
_AWAITED: Final = (_S.SENT, _S.STREAMED, _S.BUSY_WAIT)
#: Sent as a datagram and not answered, or waiting to go again after a Busy.
_ON_TRIES: Final = (_S.SENT, _S.BUSY_WAIT)
#: Sent and not answered, or waiting to go (what a typed line may wait for).
_GOING: Final = (_S.SENT, _S.STREAMED, _S.HELD, _S.PACED)
#: Where `due` is a deadline: a Busy's wait, a connection's end, an outcome's.
_TIMED: Final = (_S.BUSY_WAIT, _S.STREAMED, _S.ANSWERED)


class Requests:
    """The requests of one peer to the registry at `server`, whether it answers, and when
    the next keepalive goes (docs/PROTOCOL.md, "Liveness"); `timeout` and `attempts`: the
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
        self._held = settling.held  # the ids of the outbox
        self.alarm = alarm or Alarm()
        self.round_trip = RoundTrip(timeout, max(timeout, RTO_MAX))  # the registry's
        #: The peer's keepalive period (set by PeerCore): no copy of a keepalive waits longer.
        self.keepalive = KEEPALIVE
        #: When the next keepalive is due, or None when none is (not registered).
        self.next_keepalive: float | None = None
        #: Whether the registry is away (a request given up on, nothing from it since), and
        #: whether the rooms' being unavailable was said since it last answered.
        self.down = self.rooms_down_said = False
        #: When anything last came from the registry: it runs (`due`).
        self.heard_at = -math.inf
        #: When the first registration was sent, and its silent rounds (RegistryLink), once one is.
        self.began = 0.0
        self.silent: SilentRounds | None = None
        #: Whether a `reg` typed offline went unanswered: it goes with each probe, each period.
        self.register_again = False
        #: Every request not done with, by id, in the order first sent (or typed): on its
        #: way, waiting to go (paced, held), accepted (ANSWERED, its outcome awaited until
        #: `due`; `due` infinite: asked again, or in the outbox), or one of the last
        #: GIVEN_UP_KEPT given up on whose late answer is still taken.
        self.records: dict[str, RequestRecord] = {}
        # the copies of those sent as datagrams (SENT), timed, oldest first
        self._sent: Retransmitter[RequestRecord] = Retransmitter(
            timeout, attempts, self.alarm, self.round_trip
        )
        #: The pace of what the user typed (a token bucket); how many wait for it (PACED).
        self.pace = BucketRule(PACE_RATE, PACE_BURST)
        self._pace_due = FULL
        self._paced = 0
        #: The request what is typed next waits for (a long one, or a kept one): those
        #: typed meanwhile are HELD behind it.
        self.waited_for: str | None = None
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
        is held after the outbox (unless kept itself, or a dereg). One sent before (held,
        or asked again for its outcome) goes on as its record."""
        request = self.records.get(message.id)
        if request is None or request.stage is Stage.GIVEN_UP:
            request = self.records[message.id] = RequestRecord(message, quiet)
        else:
            request.message, request.quiet = message, quiet
        self._kinds.add(type(message))
        if isinstance(message, IN_ORDER) and self._waits(request, now, emit, kept):
            return
        if KINDS[type(message)].always_streams:  # a whole table: asked over TCP at once
            self._over_tcp(request, now)
            emit(SendSealed(self.server, message, self.trust.registry, stream=True))
            return
        self._start(request, now)
        emit(SendSealed(self.server, message, self.trust.registry))

    def _waits(self, request: RequestRecord, now: float, emit: Emit, kept: Message | None) -> bool:
        """Whether `request` waits: behind the request waited for, a leave or join behind a
        room line on its way, anything behind the outbox, or for the pace."""
        message = request.message
        if self.waited_for is not None and message.id != self.waited_for:
            request.to(Step.HOLD)
            return True
        line = self.room_line() if isinstance(message, (Leave, Join)) else None
        if line is not None:
            # the leave or join would take us out of the line's room before it arrived
            self.waited_for = line
            request.to(Step.HOLD)
            return True
        if kept is not None and message.id not in self._held and type(message) is not Deregister:
            # the outbox was given up on: the first kept one goes now, as a probe, and this
            # one after the outbox (or fails with the probe: RegistryLink.over). A dereg
            # does not wait: leaving keeps the outbox for the next start.
            request.to(Step.HOLD)
            self.send(kept, now, emit, quiet=True)
            return True
        long = KINDS[type(message)].streams and travels_by_stream(message)
        if long or message.id in self._held:
            self.waited_for = message.id
        if not self._paced:
            taken, self._pace_due = self.pace.take(self._pace_due, now)
            if taken:
                return False
        request.to(Step.PACE)
        self._paced += 1
        self.alarm.lower(self.pace.next_at(self._pace_due))
        return True

    def _start(self, request: RequestRecord, now: float, again: bool = False) -> None:
        """`request` was sent at `now`: a round of tries begins (`again`: after `due`). Copies
        of a registration wait ever longer (REGISTER_BACK_OFF), of a keepalive a period at most."""
        key, kind = request.message.id, type(request.message)
        request.since, request.due = now, math.inf
        self.records[key] = request.to(Step.AGAIN if again else Step.SEND)
        self._kinds.add(kind)
        back_off_to = REGISTER_BACK_OFF if kind is Register else 0.0
        most = self.keepalive if kind is Keepalive else math.inf
        (self._sent.again if again else self._sent.start)(key, request, now, back_off_to, most)

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
        """Send what waits for the pace, in the order typed, as far as the pace lets it."""
        if not self._paced:
            return
        for request in [r for r in self.records.values() if r.stage is Stage.PACED]:
            taken, self._pace_due = self.pace.take(self._pace_due, now)
            if not taken:
                return
            self._paced -= 1
            self._start(request, now)
            emit(SendSealed(self.server, request.message, self.trust.registry))

    def room_line(self) -> str | None:
        """The id of the last room line waiting for the pace, or sent and not accepted yet,
        or None: a leave or join typed now waits for it."""
        for request in reversed(self.records.values()):
            stage = request.stage
            if type(request.message) is RoomPost and (
                stage is _S.PACED or (stage is _S.SENT and not request.accepted)
            ):
                return request.message.id
        return None

    def release(self, msg_id: str) -> bool:
        """Request `msg_id` was answered or given up: True when it was the one waited for."""
        if msg_id != self.waited_for:
            return False
        self.waited_for = None
        return True

    def take_held(self, *, give_up: bool = False) -> list[RequestRecord]:
        """Those held behind the request waited for, in order, for the caller to send
        again; or, `give_up`, given up on with it."""
        held = [r for r in self.records.values() if r.stage is Stage.HELD]
        if give_up:
            for request in held:
                self._give_up(request)
        return held

    def take_back(self, due: list[RequestRecord], now: float) -> None:
        """`due` (by `due`: given up, or not) wait in a new round, in their places, from `now`."""
        for request in due:
            request.rounds = 0
            self._start(request, now, True)

    def due(self, now: float) -> tuple[list[RequestRecord], list[RequestRecord]]:
        """The requests to send again at `now`, and those given up on, oldest first. A round
        run out is given up only when the registry was not heard from during it, or after
        EXTRA_ROUNDS more (one whose connection ended unanswered always has those, and a
        keepalive unless the registry is `down`: a probe is one round); one answered Busy
        rounds until BUSY_PATIENCE from its first Busy."""
        again, failed = self._sent.due(now)
        heard, away = self.heard_at, self.down
        streamed = self._overdue(Stage.STREAMED, now)
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
                given_up.append(self._give_up(request))
        return again_round + again, given_up

    def _give_up(self, request: RequestRecord) -> RequestRecord:
        """`request` is given up on: forgotten (unless accepted: its outcome is awaited),
        its first Busy no longer counting."""
        request.busy_since, request.due = None, math.inf
        if not request.to(Step.GIVE_UP).accepted:
            self.records.pop(request.message.id, None)
        return request

    def keep_given_up(self, request: RequestRecord) -> None:
        """`request`, given up on, has its late answer taken, as one of the last GIVEN_UP_KEPT."""
        self.records[request.message.id] = request
        given_up = [key for key, r in self.records.items() if r.stage is Stage.GIVEN_UP]
        for key in given_up[:-GIVEN_UP_KEPT]:
            del self.records[key]

    def take_given_up(self, msg_id: str) -> Message | None:
        """The request `msg_id` given up on lately, its late answer taken now; None if none."""
        request = self.records.get(msg_id)
        if request is None or request.stage is not Stage.GIVEN_UP:
            return None
        del self.records[msg_id]
        return request.message

    def next_wake(self) -> float | None:
        wake = min([r.due for r in self.records.values() if r.stage in _TIMED], default=math.inf)
        if (sent := self._sent.next_wake()) is not None:
            wake = min(wake, sent)
        if self._paced:
            wake = min(wake, self.pace.next_at(self._pace_due))
        return None if wake == math.inf else wake

    def _overdue(self, stage: Stage, now: float) -> list[RequestRecord]:
        """Those in `stage` whose deadline (`due`) is at `now` or before."""
        records = self.records.values()
        return [r for r in records if r.stage is stage and r.due <= now and r.due < math.inf]

    def answer_came(self, msg_id: str, now: float | None = None) -> RequestRecord | None:
        """The answer to request `msg_id` came at `now` (None: not measured): the request,
        no longer waited for (None: it was not); kept while accepted (`accept`)."""
        request = self._take(msg_id, now)
        if request is None:
            return None
        if not request.accepted:
            del self.records[msg_id]
        return request.to(Step.ANSWER)

    def _take(self, msg_id: str, now: float | None) -> RequestRecord | None:
        request = self.records.get(msg_id)
        if request is None or request.stage not in _AWAITED:
            return None
        if request.stage is Stage.SENT:
            self._sent.answer(msg_id, now)
        request.due = math.inf
        return request

    def stream(self, msg_id: str, now: float) -> RequestRecord | None:
        """A TooBig answered `msg_id` at `now`: the request, for the caller to send over TCP,
        its answer awaited while its connection is open (None: not waited for)."""
        request = self._sent.answer(msg_id, now)
        if request is not None:
            self._over_tcp(request, now)
        return request

    def _over_tcp(self, request: RequestRecord, now: float) -> None:
        request.since, request.due = now, math.inf  # its round over TCP begins
        request.to(Step.STREAM)

    def ended(self, msg_id: str, now: float) -> None:
        """The connection that sent `msg_id` ended at `now`: unanswered, its round is over."""
        request = self.records.get(msg_id)
        if request is not None and request.stage is Stage.STREAMED:
            request.due = now
            self.alarm.lower(now)

    def busy(self, msg_id: str, wait: float, now: float) -> tuple[RequestRecord | None, bool]:
        """A Busy answered `msg_id` at `now`: the request goes again `wait` seconds on, or,
        answered Busy for BUSY_PATIENCE already, is given up on. It, and whether this is its
        first Busy; (None, False): not waited for."""
        request = self._take(msg_id, now)
        if request is None:
            return None, False
        # the first Busy still counts: a late copy's must not start the patience afresh
        first = request.busy_since is None
        since = request.busy_since = now if request.busy_since is None else request.busy_since
        if now - since >= BUSY_PATIENCE:
            return self._give_up(request), False
        return self.wait(request, now + wait), first

    def wait(self, request: RequestRecord, due: float) -> RequestRecord:
        """`request` goes again at `due` (`busy_over`): after a Busy, or a silent round."""
        request.to(Step.BUSY).due = due
        self.records[request.message.id] = request
        self.alarm.lower(due)
        return request

    def busy_over(self, now: float) -> list[RequestRecord]:
        """Each request whose wait is over at `now`, in flight again, for the caller to send."""
        over = self._overdue(Stage.BUSY_WAIT, now)
        for request in over:
            self._start(request, now, True)  # a copy: its answer is no sample
        return over

    def accept(self, message: Message, now: float, *, kept: bool = False) -> bool:
        """The registry accepted `message` (`kept`: a save from the outbox) at `now`: its
        outcome awaited OUTCOME_WAIT seconds (a copy's acceptance keeps the deadline). True
        the first time only (asking again is not said twice)."""
        request = self.records.get(message.id)
        if request is None:
            request = self.records[message.id] = RequestRecord(message, stage=Stage.ANSWERED)
        elif request.stage is not Stage.ANSWERED:
            request.to(Step.ANSWER)
        first, request.accepted, request.kept = not request.accepted, True, request.kept or kept
        if request.due == math.inf:
            request.due = now + OUTCOME_WAIT
            self.alarm.lower(request.due)
        return first

    def accepted(self, msg_id: str) -> bool:
        """Whether the registry accepted `msg_id` at least once, its outcome still to come."""
        return msg_id in self.records and self.records[msg_id].accepted

    def outcome_came(self, msg_id: str) -> RequestRecord | None:
        """The outcome of `msg_id` came, or is given up: the request, if accepted; forgotten
        unless on its way again."""
        request = self.records.get(msg_id)
        if request is None or not request.accepted:
            return None
        request.accepted = False
        if request.stage is Stage.ANSWERED or request.stage is Stage.GIVEN_UP:
            del self.records[msg_id]
        return request

    def outcomes_over(self, now: float) -> list[Message]:
        """The accepted whose outcome is overdue at `now`, no longer awaited, for the caller
        to ask again (or keep in the outbox)."""
        over = self._overdue(Stage.ANSWERED, now)
        for request in over:
            request.due = math.inf
        return [r.message for r in over]

    def messages(
        self, *, streamed: bool = False, held: bool = False, given_up: bool = False
    ) -> list[Message]:
        """The requests sent as datagrams and not answered, oldest first; then, if asked,
        those over TCP, held or paced, and given up on lately."""
        found = [r.message for r in self._sent.items()]
        stages = (_S.STREAMED,) * streamed + (_S.HELD, _S.PACED) * held + (_S.GIVEN_UP,) * given_up
        if stages:
            found += [r.message for r in self.records.values() if r.stage in stages]
        return found

    def registers(self) -> list[Register]:
        """The `reg`s going on: sent and not answered, or waiting after a Busy."""
        going = [r.message for r in self.records.values() if r.stage in _ON_TRIES]
        return [m for m in going if isinstance(m, Register)]

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
        request = self.records.get(msg_id)
        awaited = request is not None and request.stage is _S.ANSWERED and request.due < math.inf
        return awaited or (request is not None and request.stage in _GOING)

    def undelivered(self, kinds: tuple[type[Message], ...]) -> list[Message]:
        """The requests of `kinds` not answered (but outbox retries), then all held, then
        all awaiting their outcome."""
        records = self.records.values()
        going = [*self._sent.items(), *(r for r in records if r.stage is _S.STREAMED)]
        return [
            *(r.message for r in going if isinstance(r.message, kinds) and not r.quiet),
            *(r.message for r in records if r.stage is _S.PACED or r.stage is _S.HELD),
            *(r.message for r in records if r.stage is _S.ANSWERED and r.due < math.inf),
        ]

    def registered(self, now: float) -> None:
        """Registered at `now`: keepalives from now on, every period."""
        self.register_again = False
        self.next_keepalive = now + self.keepalive
        self.alarm.lower(self.next_keepalive)

    def offline(self) -> None:
        """Registered no more: no keepalives."""
        self.next_keepalive = None

    def keepalive_due(self, now: float) -> bool:
        """Whether a keepalive is due at `now`; if so, the next one is scheduled a period on."""
        if self.next_keepalive is None or now < self.next_keepalive:
            return False
        self.next_keepalive = now + self.keepalive
        return True

    def went_away(self, now: float, *, started: bool, reg: bool = False) -> None:
        """A request was given up on at `now`: the registry is away. A peer that has
        `started` probes it even when offline, for its outbox; a typed `reg` (`reg`) goes
        on with a probe at once."""
        self.down, self.register_again = True, self.register_again or reg
        if (self.next_keepalive is None or reg) and started:
            self.next_keepalive = now if reg else now + self.keepalive
            self.alarm.lower(self.next_keepalive)
