"""What a person sends: a join, a held place taken back or given up; then their commands."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import msgspec

from registry.core.credentials import token_matches
from registry.core.desk import sessions
from registry.core.desk.actions import Close, ConnId, DeskSend, Emit, Log
from registry.core.desk.limits import ARRIVALS_INTERVAL, DeskSettings, room_is_full, work_bits
from registry.core.desk.operators import alert
from registry.core.desk.state import DeskState, Person
from wire.desk.messages import (
    CRISIS_WAITING,
    DeskCrisis,
    DeskEnd,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskLook,
    DeskPosition,
    DeskWork,
)
from wire.desk.phone import mask_numbers, normalise_phone, phone_key, phone_problem
from wire.desk.text import (
    CRISIS_REASONS,
    DANGER_MARK,
    ENDED,
    ENDED_TO_PERSON,
    MAX_DESK_LINE,
    TOPICS,
    YOU_LEFT,
    crisis_reason,
    description_problem,
    format_estimate,
    keep_said,
    name_problem,
    speaks_of_crisis,
    topic_label,
)
from wire.desk.work import done
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import WIRE_VERSION, wire_refusal


def holder(people: Iterable[Person], given: str) -> Person | None:
    """The one of `people` whose token (or its hash) is `given`, or None; every token
    compared in constant time."""
    found = [person for person in people if token_matches(given, person.token)]
    return found[-1] if found else None


def source_refusal(
    people: Iterable[Person], *, key: str, address: str, in_danger: bool, limits: DeskSettings
) -> tuple[str, str] | None:
    """Why a join with `key` from `address` may not take a place beside `people`, and the log's
    line; or None. "" is unknown, not limited."""
    people = list(people)
    if key:
        held = sum(1 for p in people if p.key == key)
        if held >= limits.max_per_key:
            return (
                f"This help desk client already holds {held} places in the waiting room, the "
                "most one client may hold; please wait for your turn there, or try again once "
                "that place is given up.",
                f"desk: a client key holds {held} places; refused another",
            )
    if address:
        same = sum(1 for p in people if p.address == address and bool(p.crisis) == in_danger)
        if same >= limits.max_per_address:
            kind = "places of people who may be in danger" if in_danger else "places"
            return (
                f"This computer ({address}) already holds {same} {kind} in the waiting room, "
                "the most one address may hold; please try again once one of them has been "
                "served.",
                f"desk: {address} holds {same} {kind}; refused another",
            )
    return None


def join(s: DeskState, conn: ConnId, msg: DeskJoin, now: float, emit: Emit) -> None:
    """A `DeskJoin` on `conn`: a place taken back, a new place, or a refusal."""
    # first, whatever happens next: a refused person in crisis needs it most
    crisis = crisis_reason(msg.topic, msg.description)
    if crisis:
        emit(DeskSend(conn, DeskCrisis(s.make_id(), s.settings.crisis_notice)))
    if msg.wire != WIRE_VERSION:
        s.refuse_wire(conn, msg, "desk client", emit)
        return
    phone = normalise_phone(msg.phone)
    problem = _join_problem(msg, phone)
    if problem is not None or phone is None:
        reason = problem or "Invalid request."
        log = Log(f"desk: refused a join: {reason}", "desk: invalid join")
        s.refuse(conn, msg.id, reason, emit, log=log)
        return
    held = _held(s, msg.token, phone)
    if held is not None:
        _take_back(s, conn, held, msg, emit)
        return
    msg = msgspec.structs.replace(msg, phone=phone)  # as the desk keeps it: normalised
    if _work_asked(s, conn, msg, emit):
        return
    refusal = _refusal(s, conn, msg, now)
    if refusal is not None:
        s.refuse(conn, msg.id, refusal[0], emit, log=refusal[1])
        return
    person = Person(
        token=s.new_token(),
        name=_masked_name(msg.name),
        phone=msg.phone,
        topic=msg.topic,
        description=msg.description.strip(),
        joined=now,
        conn=conn,
        address=s.source(conn).address,
        key=s.source(conn).key,
        crisis=crisis,
        noticed_on=conn if crisis else None,
    )
    _admit(s, person, msg.id, emit)


def _held(s: DeskState, token: str, phone: str | None) -> Person | None:
    held = holder(s.waiting, token)
    if held is None or phone is None or phone_key(held.phone) != phone_key(phone):
        return None
    return held


def _work_asked(s: DeskState, conn: ConnId, msg: DeskJoin, emit: Emit) -> bool:
    bits = work_bits(len(s.waiting))
    asked = s.puzzles.pop(conn, None)
    if not bits or (asked is not None and done(asked[0], asked[1], msg.work)):
        return False
    seed = hashlib.sha256(s.make_token().encode()).hexdigest()[:32]
    s.puzzles[conn] = (seed, bits)
    emit(DeskSend(conn, DeskWork(s.make_id(), msg.id, seed, bits)))
    return True


def _refusal(s: DeskState, conn: ConnId, msg: DeskJoin, now: float) -> tuple[str, Log] | None:
    """Why `msg` may take no new place, and the log's line; or None."""
    # Only a join from the same source (key, else address) learns that its number is
    # here: trying a number tells nobody else who is at the desk. Without the token
    # nobody takes a place back: an address or a number proves nothing.
    source = s.source(conn)
    same = s.with_phone(msg.phone, source.key, source.address)
    if same is not None and same.held_until is None:
        reason = "This number is already connected to the help desk."
        return reason, Log(f"desk: refused: {reason}", reason)
    in_danger = bool(crisis_reason(msg.topic, msg.description))
    refusal = source_refusal(
        s.people(), key=source.key, address=source.address, in_danger=in_danger, limits=s.settings
    )
    if refusal is not None:
        return refusal[0], Log(refusal[1], "desk: places per source")
    if room_is_full(len(s.waiting), in_danger=in_danger, limits=s.settings):
        size = len(s.waiting)
        reason = (
            f"The waiting room is full ({size} people); please try again later. The current "
            f"estimated wait is {format_estimate(*s.estimate(msg.topic, size, now))}."
        )
        line = f"desk: waiting room full; refused a newcomer for topic {msg.topic}"
        return reason, Log(line, "desk: waiting room full")
    return None


def _admit(s: DeskState, person: Person, reply_to: str, emit: Emit) -> None:
    assert person.conn is not None
    s.waiting.append(person)
    s.conns[person.conn] = person
    crisis = person.crisis
    danger = f"; {DANGER_MARK} may be in danger: {CRISIS_REASONS[crisis]}" if crisis else ""
    s.log(person, f"joined for topic {topic_label(person.topic)}{danger}", emit)
    s.answer(person, reply_to, restored=False)
    s.arrivals.append(person)  # told to operators once hand-overs are made


def _take_back(s: DeskState, conn: ConnId, person: Person, msg: DeskJoin, emit: Emit) -> None:
    if person.conn is not None and person.conn != conn:
        # the old one may be half-open: the token proves who this is
        s.conns.pop(person.conn, None)
        s.goodbye(person.conn, "Replaced by a new connection.", "replaced by a reconnection", emit)
    if person in s.waiting:  # the name as given now (a slip put right, say)
        person.name = _masked_name(msg.name)
    s.restored.discard(person.token)
    person.token = msg.token  # kept on disk, the place knew its token's hash only
    person.conn, person.held_until = conn, None
    if crisis_reason(msg.topic, msg.description):
        person.noticed_on = conn  # with the join's answer (see join)
    s.conns[conn] = person
    s.log(person, "took their place back", emit)
    s.answer(person, msg.id, restored=True)


def give_up(s: DeskState, conn: ConnId, msg: DeskGiveUp, now: float, emit: Emit) -> None:
    """A person who left while their connection was lost gives up their held place."""
    if msg.wire != WIRE_VERSION:
        s.refuse(conn, msg.id, wire_refusal(msg.wire, "desk client"), emit, RefusalCode.VERSION)
        return
    held = _held(s, msg.token, normalise_phone(msg.phone))
    said = "You left the help desk; no place was held for you any more."
    if held is not None:
        if held.conn is not None:  # a half-open connection of the client that gave up
            s.conns.pop(held.conn, None)
            emit(Close(held.conn, "the place was given up"))
        s.remove_waiting(held)
        s.log(held, "left the waiting room (said once the connection was lost)", emit)
        said = YOU_LEFT
    s.goodbye(conn, said, "gave up a place", emit)


def where(s: DeskState, person: Person, msg: DeskLook, now: float, emit: Emit) -> None:
    assert person.conn is not None
    operator = s.serving_of(person)
    if operator is not None:
        s.notice(person.conn, f"You are being served by {operator.name}.", emit)
        return
    position, k = s.position(person)
    est = s.estimate(person.topic, position - 1, now, person)
    waited = int(person.waited(now))
    emit(DeskSend(person.conn, DeskPosition(s.make_id(), msg.id, position, k, waited, est)))


def line(s: DeskState, person: Person, msg: DeskLine, now: float, emit: Emit) -> None:
    """A line from `person`: to their operator when it names their session; while waiting,
    only words of crisis go on, to the operators."""
    assert person.conn is not None
    operator = s.serving_of(person)
    if operator is None and not msg.session and speaks_of_crisis(msg.text):
        words_of_crisis(s, person, msg.text[:MAX_DESK_LINE], now, emit)
    elif operator is None and not msg.session:
        said = "You are not being served yet; .queue shows where you stand."
        s.notice(person.conn, said, emit)
    elif operator is None or msg.session != operator.session:
        # it crossed the end of its session: not for whoever serves the person next
        said = (
            "Not sent: your session had ended before this line reached the help "
            f"desk. The line was: {msg.text[:MAX_DESK_LINE]}"
        )
        s.notice(person.conn, said, emit)
    else:
        operator.heard += 1
        sessions.say(s, operator, person, msg.text, emit)


def leaves(s: DeskState, person: Person, msg: DeskEnd | DeskLeave, now: float, emit: Emit) -> None:
    assert person.conn is not None
    conn = person.conn
    operator = s.serving_of(person)
    if operator is not None and isinstance(msg, DeskEnd) and msg.session != operator.session:
        s.notice(conn, sessions.already_over(operator.name), emit)
    elif operator is not None:
        ending = sessions.Ending(
            "ended by the person",
            to_person=ENDED_TO_PERSON.format("You"),
            to_operator=ENDED.format(clean(person.name)),
        )
        sessions.end(s, operator, now, ending, emit)
    else:
        s.remove_waiting(person)
        s.conns.pop(conn, None)
        s.log(person, "left the waiting room", emit)
        s.goodbye(conn, YOU_LEFT, "left the waiting room", emit)


def _join_problem(msg: DeskJoin, phone: str | None) -> str | None:
    problem = name_problem(msg.name) or (phone_problem(msg.phone) if phone is None else None)
    if problem is None and msg.topic not in TOPICS:
        problem = f"Topic {msg.topic} does not exist; topics are 1 to {len(TOPICS)}."
    return problem or description_problem(msg.topic, msg.description)


def _masked_name(name: str) -> str:
    """The name given, any number in it masked: every operator sees names."""
    return mask_numbers(name.strip())


def words_of_crisis(s: DeskState, person: Person, text: str, now: float, emit: Emit) -> None:
    """`person`, waiting, typed words of crisis: operators are told, and the person."""
    assert person.conn is not None
    if person.noticed_on != person.conn:
        # the registry's notice, once per connection: a client that has not seen it
        # waits for it rather than show its own first (one notice, not two)
        person.noticed_on = person.conn
        emit(DeskSend(person.conn, DeskCrisis(s.make_id(), s.settings.crisis_notice)))
    person.crisis = CRISIS_WAITING
    person.said = keep_said(person.said, text)
    s.log(person, "wrote words of crisis while waiting", emit)
    told = now < person.alerted_at + ARRIVALS_INTERVAL
    if told or alert(s, person, now, CRISIS_REASONS[CRISIS_WAITING], emit):
        said = (
            "The operators on duty have been told that you may need help urgently; the "
            "one who serves you will see what you wrote."
        )
    else:
        said = (
            "No operator is on duty to be told yet; the one who serves you will see what "
            "you wrote. If you are in danger now, do not wait here: see the notice above."
        )
    s.notice(person.conn, said, emit)
