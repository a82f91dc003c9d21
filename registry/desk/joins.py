"""A person's first message: joining the waiting room, taking a held place back with its
token, or giving it up after leaving while the connection was lost (docs/DESK.md).
"""

from __future__ import annotations

import hashlib

from registry.desk.actions import Action, Close, ConnId, Log, Send
from registry.desk.admission import holder, room_is_full, source_refusal, work_bits
from registry.desk.notices import WaitingNotices
from registry.desk.people import Person, name_for_log
from registry.desk.restart import AfterRestart
from wire.desk.messages import DeskCrisis, DeskEnded, DeskGiveUp, DeskJoin, DeskWork
from wire.desk.phone import mask_numbers, normalise_phone, phone_key, phone_problem
from wire.desk.text import (
    CRISIS_REASONS,
    DANGER_MARK,
    MAX_DESCRIPTION,
    TOPICS,
    crisis_reason,
    format_estimate,
    name_problem,
    topic_label,
)
from wire.desk.work import done
from wire.refusals import RefusalCode
from wire.version import WIRE_VERSION, wire_refusal


class Joins(AfterRestart, WaitingNotices):
    """Who comes into the waiting room, who comes back to a held place, and who gives one
    up."""

    def _join(self, conn: ConnId, msg: DeskJoin, now: float) -> list[Action]:
        """A person's `DeskJoin` on `conn`: a place taken back (its token and number), a
        new place, or a refusal saying why; the crisis notice first to whoever may be in
        danger, whichever it is."""
        # The crisis notice comes first, whatever happens next: a refused person in crisis
        # needs it most.
        actions: list[Action] = []
        crisis = crisis_reason(msg.topic, msg.description)
        if crisis:
            actions.append(Send(conn, DeskCrisis(self._make_id(), self.crisis_notice)))
        if msg.wire != WIRE_VERSION:
            return actions + self._other_wire(conn, msg, "desk client")
        phone = normalise_phone(msg.phone)
        problem = _join_problem(msg, phone)
        if problem is not None or phone is None:
            reason = problem or "Invalid request."
            log = Log(f"desk: refused a join: {reason}", "desk: invalid join")
            return actions + self._refuse(conn, msg.id, reason, log=log)
        held = holder(self._tokens, msg.token)
        if held is not None and phone_key(held.phone) == phone_key(phone):
            return actions + self._restore(conn, held, msg, now)
        asked = self._work_asked(conn, msg)
        if asked:
            return actions + asked
        refused = self._not_admitted(conn, msg, phone, crisis, now)
        if refused:
            return actions + refused
        return actions + self._admit(conn, msg, phone, crisis, now)

    def _work_asked(self, conn: ConnId, msg: DeskJoin) -> list[Action]:
        """The DeskWork that answers a newcomer's join on `conn` while the room is busy
        (admission.work_bits), unless it shows the work asked on this connection (each
        puzzle solves one join); nothing when it may go on. Checking is one hash."""
        bits = work_bits(len(self._waiting))
        asked = self._puzzles.pop(conn, None)
        if not bits or (asked is not None and done(asked[0], asked[1], msg.work)):
            return []
        seed = hashlib.sha256(self._make_token().encode()).hexdigest()[:32]
        self._puzzles[conn] = (seed, bits)
        return [Send(conn, DeskWork(self._make_id(), msg.id, seed, bits))]

    def _not_admitted(
        self, conn: ConnId, msg: DeskJoin, phone: str, crisis: str, now: float
    ) -> list[Action]:
        """Why a newcomer with `phone` is refused a place (the refusal and what the log
        says), or nothing when they are admitted."""
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
            return self._refuse(conn, msg.id, reason)

        refusal = source_refusal(
            self._people(), key=key, address=address, in_danger=bool(crisis), limits=self.limits
        )
        if refusal is not None:
            log = Log(refusal.log, "desk: places per source")
            return self._refuse(conn, msg.id, refusal.reason, log=log)

        if room_is_full(len(self._waiting), in_danger=bool(crisis), limits=self.limits):
            size = len(self._waiting)
            estimate = self._estimate(msg.topic, size, now)
            reason = (
                f"The waiting room is full ({size} people); please try again "
                f"later. The current estimated wait is "
                f"{format_estimate(*estimate.wire())}."
            )
            line = f"desk: waiting room full; refused a newcomer for topic {msg.topic}"
            return self._refuse(conn, msg.id, reason, log=Log(line, "desk: waiting room full"))
        return []

    def _admit(
        self, conn: ConnId, msg: DeskJoin, phone: str, crisis: str, now: float
    ) -> list[Action]:
        """A new place at the back of the waiting room for the person joining on `conn`,
        answered with where they stand (or served at once by an operator free)."""
        person = Person(
            token=self._new_token(),
            name=_masked_name(msg.name),
            phone=phone,
            topic=msg.topic,
            description=msg.description.strip(),
            joined=now,
            conn=conn,
            address=self._addresses.get(conn, ""),
            key=self._conn_keys.get(conn, ""),
            crisis=crisis,
            noticed_on=conn if crisis else None,
        )
        self._waiting.append(person)
        self._tokens[person.token] = person
        self._conns[conn] = person
        danger = f"; {DANGER_MARK} may be in danger: {CRISIS_REASONS[crisis]}" if crisis else ""
        actions: list[Action] = [
            self._log(
                f"desk: {name_for_log(person)} joined for topic "
                f"{topic_label(person.topic)}{danger}",
                person,
            )
        ]
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
        if person.token != msg.token:  # kept on disk, the place knew its token's hash only
            self._tokens.pop(person.token, None)
            self._restored.discard(person.token)
            person.token = msg.token
            self._tokens[person.token] = person
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


def _join_problem(msg: DeskJoin, phone: str | None) -> str | None:
    """Why a `DeskJoin` asks for nothing the desk can give (a name, number, topic or
    description out of bounds), or None when it is sound. `phone` is its number as
    `normalise_phone` reads it."""
    problem = name_problem(msg.name) or (phone_problem(msg.phone) if phone is None else None)
    if problem is None and msg.topic not in TOPICS:
        problem = f"Topic {msg.topic} does not exist; topics are 1 to {len(TOPICS)}."
    if problem is None and len(msg.description) > MAX_DESCRIPTION:
        problem = f"A description has at most {MAX_DESCRIPTION} characters."
    return problem


def _masked_name(name: str) -> str:
    """The name a person gave, with any phone number in it masked (`mask_numbers`): the
    name is shown to every operator (`.room`, "... is waiting"), and a full number only to
    the one who serves its person."""
    return mask_numbers(name.strip())
