"""StreamSlots alone: the limit on accepted connections, and who makes room at it."""

from __future__ import annotations

from clear_channel import Clock
from hypothesis import given
from hypothesis import strategies as st

from net.listener import EVICT_IDLE, MAX_STREAMS, SPARE_FDS, StreamSlots, stream_limit


class Conn:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


def admitted_with_key(slots: StreamSlots, *conns: Conn) -> None:
    for conn in conns:
        assert slots.admit(conn)
        slots.shown_key(conn)


def test_at_the_limit_one_that_has_shown_no_key_makes_room_first() -> None:
    clock = Clock()
    slots = StreamSlots(3, clock)
    old, stranger, newcomer = Conn("old"), Conn("stranger"), Conn("newcomer")
    admitted_with_key(slots, old)
    clock.now += 60
    assert slots.admit(stranger)  # no handshake yet, and silent for less than old
    admitted_with_key(slots, Conn("busy"))
    assert slots.admit(newcomer) and stranger.closed and not old.closed
    assert slots.evicted == 1 and len(slots) == 3


def test_at_the_limit_a_request_waiting_for_evict_idle_makes_room() -> None:
    # found with 1,000 connections sending a frame a second: none was ever silent for
    # EVICT_IDLE, so a new peer fetching its table over TCP was turned away every time
    clock = Clock()
    slots = StreamSlots(16, clock)
    conns = [Conn(str(i)) for i in range(16)]
    admitted_with_key(slots, *conns)
    for desk in conns[:2]:
        slots.settle(desk)  # desk sessions hold the reserve (2 places), not requests
    for conn in conns[2:]:
        slots.heard(conn)  # 14 ask; none is answered yet
    assert slots.reserve == 2 and not slots.admit(Conn("early")) and slots.turned_away == 1
    clock.now += EVICT_IDLE / 2
    slots.heard(conns[2])  # more frames do not make its wait younger
    clock.now += EVICT_IDLE / 2
    for conn in conns[3:]:
        slots.heard(conn)
    assert slots.admit(Conn("late")) and conns[2].closed and not conns[3].closed


def test_requests_never_hold_the_reserve_against_a_newcomer() -> None:
    clock = Clock()
    slots = StreamSlots(16, clock)
    conns = [Conn(str(i)) for i in range(16)]
    admitted_with_key(slots, *conns)
    for conn in conns:
        clock.now += 0.01
        slots.heard(conn)  # every place a fresh request: the longest waiting goes
    assert slots.admit(Conn("newcomer")) and conns[0].closed and slots.evicted == 1


def test_a_session_counts_but_is_never_closed_for_a_newcomer() -> None:
    clock = Clock()
    slots = StreamSlots(1, clock)
    desk = Conn("desk")
    assert slots.admit(desk)
    slots.settle(desk)
    clock.now += 3600
    assert not slots.admit(Conn("late")) and not desk.closed
    slots.release(desk)
    assert slots.admit(Conn("next")) and len(slots) == 1


def test_the_limit_leaves_descriptors_for_files() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY:
        assert stream_limit() == max(16, min(MAX_STREAMS, soft - SPARE_FDS))


ops = st.lists(
    st.tuples(
        st.sampled_from(["admit", "key", "heard", "answered", "settle", "release", "wait"]),
        st.integers(0, 7),
    ),
    max_size=60,
)


@given(ops, st.integers(1, 20))
def test_any_sequence_keeps_the_limit_and_closes_the_least_useful(
    steps: list[tuple[str, int]], limit: int
) -> None:
    clock = Clock()
    slots = StreamSlots(limit, clock)
    conns = [Conn(str(i)) for i in range(8)]
    order: dict[int, int] = {}  # index -> when last active, in steps, for evictable ones
    sessions: set[int] = set()
    unproven: set[int] = set()  # no key shown yet
    awaiting: dict[int, tuple[float, int]] = {}  # heard, not answered: since (time, step)
    for step, (op, i) in enumerate(steps):
        conn = conns[i]
        if op == "wait":
            clock.now += i * 0.5
        elif op == "admit" and i not in order and i not in sessions and not conn.closed:
            # the least useful: no key, else waiting for nothing, else waiting longest
            # (for EVICT_IDLE at least, or requests fill the reserve); the longest silent
            # of its kind
            free = (unproven & order.keys()) or (order.keys() - awaiting.keys())
            if free:
                expected: int | None = min(free, key=order.__getitem__)
            else:
                waited = min(awaiting, key=awaiting.__getitem__, default=None)
                crowded = len(awaiting) > limit - slots.reserve
                ok = waited is not None and (
                    crowded or clock.now - awaiting[waited][0] >= EVICT_IDLE
                )
                expected = waited if ok else None
            if len(order) + len(sessions) < limit:
                expected = None
                assert slots.admit(conn)
            elif expected is None:
                assert not slots.admit(conn)
                continue
            else:
                assert slots.admit(conn)
                assert conns[expected].closed
                del order[expected]
                awaiting.pop(expected, None)
                unproven.discard(expected)
            order[i] = step
            unproven.add(i)
        elif op == "key" and i in order:
            slots.shown_key(conn)
            unproven.discard(i)
        elif op == "heard" and i in order:
            slots.heard(conn)
            order[i] = step
            awaiting.setdefault(i, (clock.now, step))
        elif op == "answered" and i in order:
            slots.answered(conn)
            awaiting.pop(i, None)
        elif op == "settle" and i in order:
            slots.settle(conn)
            del order[i]
            awaiting.pop(i, None)
            unproven.discard(i)
            sessions.add(i)
        elif op == "release" and (i in order or i in sessions):
            slots.release(conn)
            order.pop(i, None)
            awaiting.pop(i, None)
            unproven.discard(i)
            sessions.discard(i)
        assert len(slots) == len(order) + len(sessions) <= limit
        assert sum(c.closed for c in conns) == slots.evicted
        assert not any(conns[j].closed for j in sessions)


def test_one_address_holds_at_most_its_share_and_makes_room_only_for_itself() -> None:
    clock = Clock()
    told: list[str] = []
    slots = StreamSlots(10, clock, per_address=2, dropped=lambda kind, line: told.append(kind))
    a1, a2, a3, a4, b1 = Conn("a1"), Conn("a2"), Conn("a3"), Conn("a4"), Conn("b1")
    assert slots.admit(b1, "10.0.0.2")
    assert slots.admit(a1, "10.0.0.1") and slots.admit(a2, "10.0.0.1")
    slots.heard(a1)  # in use: a2 is the one of its address silent the longest
    # its next one closes its own longest-silent one, at once, never another's
    assert slots.admit(a3, "10.0.0.1")
    assert a2.closed and not a1.closed and not b1.closed
    assert slots.evicted == slots.evicted_address == 1
    slots.release(a2)  # its coroutine ends later: counted once only (see a5 below)
    # desk sessions are never closed for another: with only those, it is turned away
    slots.settle(a1)
    slots.settle(a3)
    assert not slots.admit(a4, "10.0.0.1")
    assert slots.turned_away == 1 and told[-1] == "turned away: address"
    assert slots.admit(Conn("b2"), "10.0.0.2")  # another address still comes in
    slots.release(a3)
    assert slots.admit(a4, "10.0.0.1")
    assert slots.admit(Conn("a5"), "10.0.0.1") and a4.closed  # a1 and a4 held: full


def test_an_address_at_its_share_closes_one_not_waiting_for_an_answer_first() -> None:
    # found by reading it: the longest-silent one may be a client that sent its request
    # and waits for the answer (a mailbox being read, a receiver being probed)
    clock = Clock()
    slots = StreamSlots(10, clock, per_address=3)
    asking, answered, fresh, newcomer = Conn("asking"), Conn("answered"), Conn("f"), Conn("n")
    for conn in (asking, answered, fresh):
        assert slots.admit(conn, "10.0.0.1")
        slots.shown_key(conn)
        clock.now += 1
    slots.heard(asking)  # its request came; no answer yet
    clock.now += 1
    slots.heard(answered)
    slots.answered(answered)
    clock.now += 1
    # fresh is the longest silent (no frame since its accept), and waits for nothing
    assert slots.admit(newcomer, "10.0.0.1") and fresh.closed
    slots.shown_key(newcomer)
    slots.release(fresh)
    # now asking is the longest silent, but it waits: answered goes instead
    assert slots.admit(Conn("n2"), "10.0.0.1")
    assert answered.closed and not asking.closed
    slots.release(answered)


def test_when_every_connection_waits_for_an_answer_the_longest_silent_goes() -> None:
    clock = Clock()
    slots = StreamSlots(10, clock, per_address=2)
    a, b = Conn("a"), Conn("b")
    assert slots.admit(a, "10.0.0.1") and slots.admit(b, "10.0.0.1")
    slots.heard(a)
    clock.now += 1
    slots.heard(b)
    assert slots.admit(Conn("c"), "10.0.0.1") and a.closed and not b.closed


def test_at_the_limit_one_waiting_for_nothing_goes_before_one_waiting_for_its_answer() -> None:
    clock = Clock()
    slots = StreamSlots(3, clock)
    asking, answered, recent = Conn("asking"), Conn("answered"), Conn("recent")
    admitted_with_key(slots, asking, answered)
    slots.heard(asking)
    slots.heard(answered)
    slots.answered(answered)
    clock.now += EVICT_IDLE
    admitted_with_key(slots, recent)
    slots.heard(recent)
    slots.answered(recent)
    # asking is the longest silent; answered waits for nothing
    admitted_with_key(slots, Conn("newcomer"))
    assert answered.closed and not asking.closed
    slots.release(answered)
    # recent waits for nothing, however recently heard: it goes before asking
    admitted_with_key(slots, Conn("next"))
    assert recent.closed and not asking.closed


def test_loopback_is_capped_by_address_like_any_other() -> None:
    # it was exempt (many peers of one host): anyone on this machine could then take
    # every place; one address now holds up to MAX_STREAMS_PER_ADDRESS, enough for them
    slots = StreamSlots(10, Clock(), per_address=2)
    local = [Conn(f"l{i}") for i in range(3)]
    assert all(slots.admit(conn, "127.0.0.1") for conn in local)
    assert local[0].closed and slots.evicted_address == 1


def test_the_share_of_one_address_is_at_most_half_the_limit_and_eviction_frees_it() -> None:
    clock = Clock()
    slots = StreamSlots(4, clock)
    assert slots.per_address == 2
    a1, a2, b1, b2, c1 = (Conn(n) for n in ("a1", "a2", "b1", "b2", "c1"))
    for conn, address in ((a1, "a"), (a2, "a"), (b1, "b"), (b2, "b")):
        assert slots.admit(conn, address)
    clock.now += EVICT_IDLE
    assert slots.admit(c1, "c")  # the limit: a1, silent longest, makes room
    assert a1.closed and slots.evicted_address == 0
    slots.release(a1)
    assert len(slots) == 4


@given(ops, st.integers(2, 8), st.integers(1, 3))
def test_any_sequence_keeps_each_address_within_its_share_and_spares_sessions(
    steps: list[tuple[str, int]], limit: int, per_address: int
) -> None:
    clock = Clock()
    slots = StreamSlots(limit, clock, per_address=per_address)
    conns = [Conn(str(i)) for i in range(8)]
    inside: set[int] = set()
    sessions: set[int] = set()
    for op, i in steps:
        conn, address = conns[i], f"10.0.0.{i % 3}"
        if op == "wait":
            clock.now += i * 0.5
        elif op == "admit" and i not in inside and not conn.closed:
            if slots.admit(conn, address):
                inside.add(i)
        elif op == "heard" and i in inside:
            slots.heard(conn)
        elif op == "answered" and i in inside:
            slots.answered(conn)
        elif op == "settle" and i in inside and i not in sessions:
            slots.settle(conn)
            sessions.add(i)
        elif op == "release" and i in inside:
            slots.release(conn)
            inside.discard(i)
            sessions.discard(i)
        for j in list(inside):
            if conns[j].closed:  # evicted: its coroutine releases it
                assert j not in sessions
                slots.release(conns[j])
                inside.discard(j)
        for k in range(3):
            held = sum(1 for j in inside if j % 3 == k)
            assert held <= slots.per_address
        assert len(slots) == len(inside) <= limit
