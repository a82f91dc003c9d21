"""The help desk's waiting room as a sans-IO state machine (issue 4, seed 000).

`DeskQueue` knows people waiting for help, operators on duty and the sessions between
them. It never touches a socket, a clock or a file: every method takes an event with
`now` (seconds on a monotonic clock) and returns the actions for the adapter to carry out
in order: frames to send to a connection, connections to close, log lines, transcript
records. `next_wake()` says when `timer(now)` must be called next (grace periods running
out, position pushes held back by the once-a-second limit).

Connections are named by opaque ids the adapter chooses. The first message of a
connection says who it is: `DeskJoin` (a person) or `DeskOperator` (an operator). The
registry's own console is an operator like any other, on a connection id of its own.

Rules, as the issue states them and as decided where it was silent (docs/DESK.md):

- The waiting room is one first-come-first-served list. When an operator is free, the
  earliest connected person whose topic it serves goes to it; a person who could go to
  several free operators goes to the one free the longest.
- A person's position counts the people ahead who compete for the same operators: those
  whose topic some operator serving this person's topic also serves. While nobody serves
  the person's topic, everyone ahead counts. With operators that serve every topic (the
  usual case) this is the plain place in the line.
- A waiting person whose connection breaks keeps the place for `grace` seconds; a
  `DeskJoin` carrying the token takes it back with the position unchanged. A held place
  is skipped when serving (an operator never waits for someone who is not there), so the
  person finds themselves still first, or served as soon as they are back.
- A session ends when either side ends it or the person's connection breaks; both sides
  are told and the operator takes the next person. A person whose connection broke while
  being served keeps a place at the front for `grace` seconds, taken back with the token
  like any held place (a blip of the network is not the end of their call). When the
  operator's connection breaks the person goes back to the front of the waiting room
  instead: it was not their doing.
- Nobody is dropped silently: every refusal and every end is a message with a reason.
- A connection is alive only while it answers: one silent for `heartbeat` seconds is asked
  for a sign of life (`DeskPing`), and one silent for twice as long is closed and taken as
  lost, exactly as if it had broken (a stopped process keeps its TCP connection open).
"""

from __future__ import annotations

from registry.desk.actions import Action, Close, ConnId, KeepOperators, Log, Send, SessionLine
from registry.desk.admission import holder, room_is_full, source_refusal
from registry.desk.key import key_matches
from registry.desk.limits import ARRIVALS_INTERVAL
from registry.desk.notices import WaitingNotices
from registry.desk.people import Operator, Person, name_for_log, sorted_topics
from registry.desk.restart import AfterRestart
from wire.desk.messages import (
    DeskCrisis,
    DeskEnd,
    DeskEnded,
    DeskFirst,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskOperator,
    DeskPing,
    DeskPong,
    DeskQueueInfo,
    DeskQueueRequest,
    DeskRefused,
    DeskRoomRequest,
    DeskServe,
)
from wire.desk.phone import mask_numbers, normalise_phone, phone_key, phone_problem
from wire.desk.text import (
    ALREADY_ON_DUTY,
    CRISIS_REASONS,
    DANGER_MARK,
    MAX_DESCRIPTION,
    MAX_DESK_LINE,
    TOPICS,
    crisis_reason,
    format_duration,
    format_estimate,
    name_problem,
    speaks_of_crisis,
    topic_label,
    topics_text,
)
from wire.heartbeat import Beat, Heartbeat
from wire.names import name_key
from wire.names import name_problem as operator_name_problem
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import WIRE_VERSION, wire_refusal

#: Why an operator without the registry's operator key is refused.
WRONG_KEY = (
    "Cannot go on duty: wrong operator key (the registry keeps it in its data directory, "
    "file desk-key)."
)

#: What an operator who ended a session hears when nobody is handed to it next.
NOBODY_WAITING = "Nobody is waiting for you right now."


class DeskQueue(AfterRestart, WaitingNotices):
    """The waiting room, the operators and the sessions. See the module docstring."""

    # -- events ----------------------------------------------------------------------------

    def next_wake(self) -> float | None:
        """When `timer` must run next: a held place running out or a held-back push."""
        times = [p.dropped + self.grace for p in self._waiting if p.dropped is not None]
        if not self._holding:  # held-back pushes go at `release`
            times += [p.due for p in self._waiting if p.due is not None]
        times += [o.told_at + ARRIVALS_INTERVAL for o in self._operators.values() if o.untold]
        if self._restored:
            times.append(self._reclaim_by)
            if self._settle_until > float("-inf"):
                times.append(self._settle_until)
        times += [beat.due() for conn, beat in self._beats.items() if conn in self._conns]
        times += [p.awaits_until for p in self._waiting if p.awaits]
        return min(times, default=None)

    def receive(self, conn: ConnId, message: DeskMessage, now: float) -> list[Action]:
        """A message arrived on `conn`. The first one of a connection says who it is."""
        entity = self._conns.get(conn)
        if conn in self._addresses:
            beat = self._beats.get(conn)
            if beat is None:
                self._beats[conn] = Heartbeat(now, self.heartbeat)
            else:
                beat.heard(now)
        if entity is not None and isinstance(message, DeskPing):
            # answered at once, and changes nothing else: a sign of life only
            return [Send(conn, DeskPong(self._make_id(), message.id))]
        if entity is not None and isinstance(message, DeskPong):
            return []
        if entity is None:
            actions = self._first(conn, message, now)
        elif isinstance(entity, Person):
            actions = self._from_person(entity, message, now)
        else:
            actions = self._from_operator(entity, message, now)
        return actions + self._settle(now) + self._tell_waiting(now) + self._keep()

    def disconnected(
        self, conn: ConnId, now: float, reason: str = "connection lost"
    ) -> list[Action]:
        """Connection `conn` is gone (closed, broken, or closed by us for bad frames)."""
        entity = self._conns.pop(conn, None)
        self._addresses.pop(conn, None)
        self._conn_keys.pop(conn, None)
        self._beats.pop(conn, None)
        actions: list[Action] = []
        if isinstance(entity, Person):
            session = self._session_of(entity)
            if session is not None:
                name = clean(entity.name)
                actions += self._end(
                    session,
                    now,
                    to_person=None,
                    to_operator=(
                        f"{name}'s connection was lost ({reason}); the session has ended. "
                        f"They keep a place at the front of the waiting room for "
                        f"{format_duration(self.grace)}."
                    ),
                    why=f"person's connection lost ({reason})",
                    requeue=True,
                )
                actions.append(self._hold_at_front(entity, now))
            elif entity in self._waiting:
                entity.conn = None
                entity.dropped = now
                entity.shown = None
                entity.due = None
                actions.append(
                    self._log(
                        f"desk: {name_for_log(entity)} lost the connection ({reason}); "
                        f"place held for {format_duration(self.grace)}",
                        entity,
                    )
                )
        elif isinstance(entity, Operator):
            actions += self._operator_gone(entity, now, f"connection lost ({reason})")
        return actions + self._settle(now) + self._tell_waiting(now) + self._keep()

    def hold(self) -> None:
        """Hand nobody over, and push no position nor send any `DeskQueued`, until
        `release`; everything else goes on as usual (lines, joins, `.queue`, `.room`). The
        adapter holds when it sees a connection end, since others may have ended at the
        same moment and not been read yet: a registry resumed after SIGSTOP reads the ends
        of every client that left meanwhile one at a time, and the first one read must not
        hand a waiting person to an operator just as gone (nor an operator to a person
        gone). Holding twice is holding once."""
        self._holding = True

    def release(self, now: float) -> list[Action]:
        """End a `hold`: serve who can be served now, answer the joins (and tell those put
        back at the front where they stand) with the figures now, push the positions that
        changed, and tell each operator whose `.end` came meanwhile and who is still free
        that nobody waits for it. Nothing happens without a hold."""
        if not self._holding:
            return []
        self._holding = False
        served = self._dispatch(now)
        # the answers kept meanwhile go first: a DeskQueued answers a join before anything
        # else (position 0 when the person is one of those just served)
        actions = self._held_answers(now) + served + self._settle(now) + self._tell_waiting(now)
        ended, self._ended_while_holding = self._ended_while_holding, set()
        for operator in self._operators.values():
            if operator.conn in ended and operator.session is None:
                actions.append(self._notice(operator.conn, NOBODY_WAITING))
        return actions + self._keep()

    def timer(self, now: float) -> list[Action]:
        """Time has passed: give up places held too long (or, after a restart, not taken
        back within RECLAIM_WINDOW), send held-back position pushes, ask quiet connections
        for a sign of life and drop those silent too long."""
        actions = self._heartbeats(now)
        if now >= self._settle_until:
            self._settle_until = float("-inf")  # settled: nothing more to wake for
        if self._restored and now >= self._reclaim_by:
            actions += self._give_up_unclaimed()
        for person in list(self._waiting):
            if person.dropped is not None and now >= person.dropped + self.grace:
                actions += self._give_up_place(person, format_duration(self.grace))
        actions += self._stop_awaiting(now)  # after the places given up: they say more
        return (
            actions
            + self._settle(now)
            + self._tell_waiting(now)
            + self._tell_held_back_arrivals(now)
            + self._keep()
        )

    def _heartbeats(self, now: float) -> list[Action]:
        """A DeskPing to each connection silent for `heartbeat`; each silent for twice as
        long (it did not answer) is closed, with a notice for when its process runs again,
        and taken as lost (`disconnected`)."""
        actions: list[Action] = []
        for conn, beat in list(self._beats.items()):
            if conn not in self._conns:  # left, refused or closed: nothing to watch
                del self._beats[conn]
                continue
            match beat.check(now):
                case Beat.PING:
                    actions.append(Send(conn, DeskPing(self._make_id())))
                case Beat.LOST:
                    silent = format_duration(beat.silent_for(now))
                    actions += [
                        self._notice(
                            conn,
                            f"No sign of life from your client for {silent}, so the help "
                            "desk took your connection as lost and closed it.",
                        ),
                        Close(conn, f"no sign of life for {silent}"),
                        *self.disconnected(conn, now, f"no sign of life for {silent}"),
                    ]
        return actions

    def shutdown(self, now: float, reason: str = "The help desk is closing.") -> list[Action]:
        """The registry stops: end every session, tell everyone why, close everything."""
        actions: list[Action] = []
        # a person's place is not kept: they are told what they can do
        to_person = f"{reason.rstrip('.')}; please try again later."
        for operator in list(self._operators.values()):
            if operator.session is not None:
                # Operators hear the reason once, below, with everyone else.
                actions += self._end(
                    operator.session, now, to_person, None, "registry closing", measure=False
                )
        for conn in list(self._conns):
            said = reason if conn in self._operators else to_person
            actions.append(Send(conn, DeskEnded(self._make_id(), said, False, -1)))
            actions.append(Close(conn, "registry closing"))
        self._conns.clear()
        self._addresses.clear()
        self._operators.clear()
        self._waiting.clear()
        self._tokens.clear()
        self._arrivals.clear()
        self._briefings.clear()
        # everyone was told the desk is closing, and their clients end: nobody comes back
        return actions + self._keep()

    # -- first frames ----------------------------------------------------------------------

    def _first(self, conn: ConnId, message: DeskMessage, now: float) -> list[Action]:
        if isinstance(message, DeskJoin):
            return self._join(conn, message, now)
        if isinstance(message, DeskOperator):
            return self._operator_on(conn, message, now)
        if isinstance(message, DeskGiveUp):
            return self._give_up(conn, message)
        return self._refuse(
            conn, message.id, "A help-desk connection starts with DeskJoin or DeskOperator."
        )

    def _give_up(self, conn: ConnId, msg: DeskGiveUp) -> list[Action]:
        """A person who left while their connection was lost gives up the place held for
        their token: those behind move up now, not at the end of the grace period (or of
        RECLAIM_WINDOW, after a restart)."""
        if msg.wire != WIRE_VERSION:
            reason = wire_refusal(msg.wire, "desk client")
            return self._refuse(conn, msg.id, reason, RefusalCode.VERSION)
        held = holder(self._tokens, msg.token)
        phone = normalise_phone(msg.phone)
        actions: list[Action] = []
        said = "You left the help desk; no place was held for you any more."
        if (
            held is not None
            and held in self._waiting
            and phone is not None
            and phone_key(held.phone) == phone_key(phone)
        ):
            if held.conn is not None:  # a half-open connection of the client that gave up
                self._conns.pop(held.conn, None)
                actions.append(Close(held.conn, "the place was given up"))
            self._remove_waiting(held)
            actions.append(
                self._log(
                    f"desk: {name_for_log(held)} left the waiting room (said once the "
                    "connection was lost)",
                    held,
                )
            )
            said = "You left the waiting room."
        return [
            *actions,
            Send(conn, DeskEnded(self._make_id(), said, False, -1)),
            Close(conn, "gave up a place"),
        ]

    def _refuse(
        self, conn: ConnId, reply_to: str, reason: str, code: RefusalCode = RefusalCode.OTHER
    ) -> list[Action]:
        return [
            Send(conn, DeskRefused(self._make_id(), reply_to, reason, code)),
            Close(conn, "refused: " + reason),
        ]

    def _other_wire(self, conn: ConnId, msg: DeskJoin | DeskOperator, what: str) -> list[Action]:
        reason = wire_refusal(msg.wire, what)
        return [
            Log(f"desk: refused {clean(msg.name)!r}: {reason}"),
            *self._refuse(conn, msg.id, reason, RefusalCode.VERSION),
        ]

    def _join(self, conn: ConnId, msg: DeskJoin, now: float) -> list[Action]:
        # The crisis notice comes first, whatever happens next: a refused person in crisis
        # needs it most.
        actions: list[Action] = []
        crisis = crisis_reason(msg.topic, msg.description)
        if crisis:
            actions.append(Send(conn, DeskCrisis(self._make_id(), self.crisis_notice)))
        if msg.wire != WIRE_VERSION:
            return actions + self._other_wire(conn, msg, "desk client")
        phone = normalise_phone(msg.phone)
        problem = name_problem(msg.name) or (phone_problem(msg.phone) if phone is None else None)
        if problem is None and msg.topic not in TOPICS:
            problem = f"Topic {msg.topic} does not exist; topics are 1 to {len(TOPICS)}."
        if problem is None and len(msg.description) > MAX_DESCRIPTION:
            problem = f"A description has at most {MAX_DESCRIPTION} characters."
        if problem is not None or phone is None:
            return actions + self._refuse(conn, msg.id, problem or "Invalid request.")

        held = holder(self._tokens, msg.token)
        if held is not None and phone_key(held.phone) == phone_key(phone):
            return actions + self._restore(conn, held, msg, now)

        # Only a join from the same source (client key, else address) learns that its
        # number is here already: one from anywhere else is admitted like any other, so
        # that nobody can find out whether someone is at the help desk by trying their
        # number. Without the token nobody takes a place back, held or not: an address or
        # a number is no proof of who was given it.
        address = self._addresses.get(conn, "")
        key = self._conn_keys.get(conn, "")
        same = self._with_phone(phone, key, address)
        if same is not None and same.dropped is None:
            reason = "This number is already connected to the help desk."
            return actions + self._refuse(conn, msg.id, reason)

        refusal = source_refusal(
            self._people(), key=key, address=address, in_danger=bool(crisis), limits=self.limits
        )
        if refusal is not None:
            actions.append(Log(refusal.log))
            return actions + self._refuse(conn, msg.id, refusal.reason)

        if room_is_full(len(self._waiting), in_danger=bool(crisis), limits=self.limits):
            size = len(self._waiting)
            estimate = self._estimate(msg.topic, size, now)
            reason = (
                f"The waiting room is full ({size} people); please try again "
                f"later. The current estimated wait is "
                f"{format_estimate(*estimate.wire())}."
            )
            actions.append(
                Log(f"desk: waiting room full; refused a newcomer for topic {msg.topic}")
            )
            return actions + self._refuse(conn, msg.id, reason)

        person = Person(
            token=self._new_token(),
            name=_masked_name(msg.name),
            phone=phone,
            topic=msg.topic,
            description=msg.description.strip(),
            joined=now,
            conn=conn,
            address=address,
            key=key,
            crisis=crisis,
            noticed_on=conn if crisis else None,
        )
        self._waiting.append(person)
        self._tokens[person.token] = person
        self._conns[conn] = person
        danger = f"; {DANGER_MARK} may be in danger: {CRISIS_REASONS[crisis]}" if crisis else ""
        actions.append(
            self._log(
                f"desk: {name_for_log(person)} joined for topic "
                f"{topic_label(person.topic)}{danger}",
                person,
            )
        )
        # Served at once when an operator is free: position 0 tells the client to skip
        # the waiting-room text. DeskQueued always answers the DeskJoin first.
        served = self._dispatch(now)
        actions += self._answer(person, msg.id, now, restored=False)
        actions += served
        self._arrived(person)  # told to operators once hand-overs are made
        return actions

    def _restore(self, conn: ConnId, person: Person, msg: DeskJoin, now: float) -> list[Action]:
        actions: list[Action] = []
        if person.conn is not None and person.conn != conn:
            # The old connection may still look alive (a half-open socket): the token
            # proves who this is, so the new connection wins.
            old = person.conn
            self._conns.pop(old, None)
            actions.append(
                Send(old, DeskEnded(self._make_id(), "Replaced by a new connection.", False, -1))
            )
            actions.append(Close(old, "replaced by a reconnection"))
        if person in self._waiting:  # the name as given now (a slip put right, say)
            person.name = _masked_name(msg.name)
        person.conn = conn
        person.dropped = None
        if crisis_reason(msg.topic, msg.description):
            person.noticed_on = conn  # with the join's answer (see _join)
        self._conns[conn] = person
        self._restored.discard(person.token)
        actions.append(self._log(f"desk: {name_for_log(person)} took their place back", person))
        served = self._dispatch(now)
        actions += self._answer(person, msg.id, now, restored=True)
        return actions + served

    def _operator_on(self, conn: ConnId, msg: DeskOperator, now: float) -> list[Action]:
        key = self._conn_keys.get(conn, "")
        known = bool(key) and key in self.authorised
        if not known and not key_matches(msg.key, self._operator_key):
            # checked first: a caller without the key learns nothing (not even who is on duty)
            return [
                Log(f"desk: refused an operator calling itself {clean(msg.name)!r}: wrong key"),
                *self._refuse(conn, msg.id, WRONG_KEY, RefusalCode.OPERATOR_KEY),
            ]
        if msg.wire != WIRE_VERSION:
            return self._other_wire(conn, msg, "operator client")
        problem = operator_name_problem(msg.name)
        same = next(
            (o for o in self._operators.values() if name_key(o.name) == name_key(msg.name)), None
        )
        code = RefusalCode.OTHER
        if problem is None and same is not None:
            # the name as it is on duty: `-o ANN` is refused because of ann
            problem = f"an operator named {same.name} {ALREADY_ON_DUTY}"
            code = RefusalCode.ALREADY_ON_DUTY
        if problem is None and not all(t in TOPICS for t in msg.topics):
            problem = f"topics are 1 to {len(TOPICS)}"
        if problem is not None:
            return self._refuse(conn, msg.id, f"Cannot go on duty: {problem}.", code)
        operator = Operator(
            conn=conn,
            name=msg.name,
            topics=frozenset(msg.topics),
            free_since=now,
            order=next(self._order),
        )
        self._operators[conn] = operator
        self._conns[conn] = operator
        actions: list[Action] = []
        if key and not known:
            # the operator key, shown once, authorises this operator's own key: it goes on
            # duty with that alone from now on, and the shared key need travel no more
            self.authorised[key] = msg.name
            actions.append(KeepOperators(tuple(sorted(self.authorised.items()))))
            line = f"desk: the key of operator {clean(msg.name)!r} is authorised from now on"
            actions.append(Log(line))
        actions += [
            *self._log_operator(
                operator, f"on duty ({topics_text(sorted_topics(operator.topics))})"
            ),
            Send(conn, self._on_duty(operator, msg.id)),
        ]
        for person in self._waiting:
            if person.conn is None and self._kept_operator(person) is operator:
                name = clean(person.name)
                # their place may run out first: after a restart within RECLAIM_WINDOW
                held = self._reclaim_by if person.token in self._restored else float("inf")
                if person.dropped is not None:
                    held = min(held, person.dropped + self.grace)
                left = format_duration(min(person.awaits_until, held) - now)
                actions.append(
                    self._notice(
                        conn,
                        f"The help desk was restarted while you served {name}; your "
                        f"conversation resumes as soon as {name} is back (you take nobody "
                        f"else until then, for up to {left}).",
                    )
                )
        # whoever it takes at once first; then those still waiting who may be in danger
        self._brief(operator)
        return actions + self._dispatch(now)

    # -- a person's messages ---------------------------------------------------------------

    def _from_person(self, person: Person, msg: DeskMessage, now: float) -> list[Action]:
        assert person.conn is not None
        conn = person.conn
        session = self._session_of(person)
        name = clean(person.name)
        if isinstance(msg, DeskQueueRequest):
            if session is not None:
                return [self._notice(conn, f"You are being served by {session.operator.name}.")]
            position, k = self.position(person)
            kind, low, high = self._estimate_for(person, position - 1, now).wire()
            info = DeskQueueInfo(
                self._make_id(), msg.id, position - 1, int(person.waited(now)), k, kind, low, high
            )
            return [Send(conn, info)]
        if isinstance(msg, DeskLine):
            if session is None and not msg.session and speaks_of_crisis(msg.text):
                return self._words_of_crisis(person, msg.text[:MAX_DESK_LINE], now)
            if session is None and not msg.session:
                return [
                    self._notice(
                        conn, "You are not being served yet; .queue shows where you stand."
                    )
                ]
            if session is None or msg.session != session.id:
                # It crossed the end of its session on its way: it is not for whoever
                # serves the person next.
                return [
                    self._notice(
                        conn,
                        "Not sent: your session had ended before this line reached the help "
                        f"desk. The line was: {msg.text[:MAX_DESK_LINE]}",
                    )
                ]
            session.heard += 1
            # Words of crisis are marked for the operator (render_operator) and in the
            # transcript; the person is told nothing more: someone who can help reads them.
            crisis = speaks_of_crisis(msg.text)
            said = self._say(
                session, person.name, conn, session.operator.conn, msg.text, crisis=crisis
            )
            if crisis and any(isinstance(action, SessionLine) for action in said):
                line = (
                    f"desk: {name_for_log(person)} wrote words of crisis in their session "
                    f"with {session.operator.name}"
                )
                said.append(self._log(line, person))
            return said
        if isinstance(msg, DeskEnd) and session is not None and msg.session != session.id:
            serving = session.operator.name
            return [
                self._notice(
                    conn, f"That session was already over; your session with {serving} goes on."
                )
            ]
        if isinstance(msg, DeskEnd | DeskLeave):
            if session is not None:
                return self._end(
                    session,
                    now,
                    to_person="You ended the session. Take care.",
                    to_operator=f"{name} ended the session.",
                    why="ended by the person",
                )
            self._remove_waiting(person)
            self._conns.pop(conn, None)
            return [
                self._log(f"desk: {name_for_log(person)} left the waiting room", person),
                Send(conn, DeskEnded(self._make_id(), "You left the waiting room.", False, -1)),
                Close(conn, "left the waiting room"),
            ]
        return [self._notice(conn, f"{type(msg).__name__} is not something a person can send.")]

    # -- an operator's messages ------------------------------------------------------------

    def _from_operator(self, operator: Operator, msg: DeskMessage, now: float) -> list[Action]:
        conn = operator.conn
        if isinstance(msg, DeskRoomRequest):
            return [Send(conn, self._room(msg.id, now))]
        if isinstance(msg, DeskFirst):
            return self._put_first(operator, msg)
        if isinstance(msg, DeskLine):
            if operator.session is None:
                # most often it crossed the person's .end on its way
                said = msg.text[:MAX_DESK_LINE]
                return [
                    self._notice(
                        conn, f"Not sent: you are not serving anyone now. The line was: {said}"
                    )
                ]
            if msg.session != operator.session.id:
                serving = clean(operator.session.person.name)
                return [
                    self._notice(
                        conn,
                        "Not sent: the session it was typed in is over; you now serve "
                        f"{serving}. The line was: {msg.text[:MAX_DESK_LINE]}",
                    )
                ]
            person_conn = operator.session.person.conn
            assert person_conn is not None
            return self._say(operator.session, operator.name, conn, person_conn, msg.text)
        if isinstance(msg, DeskEnd):
            if operator.session is None:
                return [self._notice(conn, "You are not serving anyone.")]
            if msg.session != operator.session.id:
                serving = clean(operator.session.person.name)
                return [
                    self._notice(
                        conn,
                        f"That session was already over; your session with {serving} goes on.",
                    )
                ]
            person = operator.session.person
            actions = self._end(
                operator.session,
                now,
                to_person=f"{operator.name} ended the session. Take care.",
                to_operator=f"Session with {clean(person.name)} ended.",
                why="ended by the operator",
            )
            actions += self._dispatch(now)
            if self._holding:
                self._ended_while_holding.add(conn)  # whoever is next is known at release
            elif operator.session is None:
                actions.append(self._notice(conn, NOBODY_WAITING))
            return actions
        if isinstance(msg, DeskServe):
            if not all(t in TOPICS for t in msg.topics):
                return [self._notice(conn, f"Topics are 1 to {len(TOPICS)}.")]
            operator.topics = frozenset(msg.topics)
            return [
                *self._log_operator(
                    operator, f"now serves {topics_text(sorted_topics(operator.topics))}"
                ),
                Send(conn, self._on_duty(operator, msg.id)),
            ]
        if isinstance(msg, DeskLeave):
            said = "You are off duty."
            if operator.session is not None:  # that person is put back, and ought to be known
                name = clean(operator.session.person.name)
                said = f"You are off duty; {name} is back at the front of the waiting room."
            actions = self._operator_gone(operator, now, "went off duty")
            self._conns.pop(conn, None)
            actions.append(Send(conn, DeskEnded(self._make_id(), said, False, -1)))
            actions.append(Close(conn, "operator off duty"))
            return actions
        return [self._notice(conn, f"{type(msg).__name__} is not something an operator can send.")]


def _masked_name(name: str) -> str:
    """The name a person gave, with any phone number in it masked (`mask_numbers`): the
    name is shown to every operator (`.room`, "... is waiting"), and a full number only to
    the one who serves its person."""
    return mask_numbers(name.strip())
