"""registry.core.pushes alone: a few datagrams of pushes in flight per member, what waits
behind them in order, retries of what of each is unacked, that every push ends answered, given
up or dropped, never lost in between, and that a message watched is reported as ended
exactly once then; and the pushes of records, as actions, in the order made."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core import actions as ra
from registry.core.pushes import FAST_LIVE, IN_FLIGHT, ROOM, SWEEP_AT, Push, Pushes, Sends
from tests.hypothesis_profiles import examples
from tests.registry.parts_helpers import record, sent, services
from wire.codec import encode
from wire.messages import Message, Notice

A, B, C = ("127.0.0.1", 6001), ("127.0.0.1", 6002), ("127.0.0.1", 6003)
T0 = 1_700_000_000.0
Addr = tuple[str, int]


def note(n: int) -> Notice:
    return Notice(f"r-{n}", "hi")


def owner(addr: Addr) -> str:
    return f"o{addr[1]}"


def to(*addrs: Addr) -> list[tuple[str, Addr]]:
    return [(owner(a), a) for a in addrs]


def ended(failed: list[Push]) -> list[tuple[str, Addr, Message, str, int]]:
    """Pushes given up or dropped, as (owner, address, message, purpose, seq)."""
    return [(o, a, f.message, f.purpose, f.seq) for o, a, f in failed]


def sent_of(sends: Sends) -> list[tuple[Addr, list[Message]]]:
    """What `due` says to send, as (address, messages)."""
    return [(addr, [f.message for f in flights]) for addr, flights in sends]


def test_one_message_to_many_is_sent_to_all_at_once_and_resent_only_to_the_silent() -> None:
    pushes = Pushes(timeout=0.5, attempts=2)
    msg = note(1)
    assert pushes.add(msg, "relay", to(A, B, C), T0, seq=7) == [A, B, C]
    who, answered = pushes.clear_acked(["r-1"], B, T0 + 0.1)
    assert who == owner(B) and [f.message for f in answered] == [msg]
    assert pushes.clear_acked(["r-1"], B, T0 + 0.1)[1] == []  # a second copy of the ack
    assert pushes.next_wake() == T0 + 0.5
    sends, failed = pushes.due(T0 + 0.5)
    assert sent_of(sends) == [(A, [msg]), (C, [msg])] and failed == []
    pushes.clear_acked(["r-1"], A, T0 + 0.6)
    sends, failed = pushes.due(T0 + 1.0)
    assert sends == [] and ended(failed) == [(owner(C), C, msg, "relay", 7)]
    assert pushes.next_wake() is None and pushes.counts()[0] == 0


def test_what_is_pushed_at_one_moment_shares_datagrams_and_the_rest_waits_for_room() -> None:
    pushes = Pushes(timeout=0.5, attempts=2)
    size = len(encode(note(1000))) + 1
    fit = ROOM // size  # (ids of four digits: all the same size)
    last = 1000 + IN_FLIGHT * fit
    sent = [pushes.add(note(n), "relay", to(A), T0, seq=n) for n in range(1000, last + 3)]
    assert sent == [[A]] * (IN_FLIGHT * fit) + [[]] * 3  # IN_FLIGHT datagrams' worth go
    assert pushes.add(note(9000), "relay", to(A), T0 + 0.1) == []  # later: waits, in order
    assert pushes.add(note(9001), "relay", to(B), T0 + 0.1) == [B]  # another member: its own
    ids = [f"r-{n}" for n in range(1000, 1000 + fit)]
    pushes.clear_acked(ids[:-1], A, T0 + 0.2)
    assert pushes.next_wake() == T0 + 0.5  # nothing goes until a datagram is all acked
    pushes.clear_acked(ids[-1:], A, T0 + 0.25)
    assert pushes.next_wake() == T0 + 0.25  # then the next one is ready to go
    ((addr, released),) = sent_of(pushes.due(T0 + 0.25)[0])
    assert addr == A
    assert [m.id for m in released] == [f"r-{n}" for n in range(last, last + 3)] + ["r-9000"]
    assert pushes.counts()[1] == 0


def first_datagram(pushes: Pushes, count: int) -> list[str]:
    """Push `count` notes to A at T0: the ids of its first datagram (as it is sent again)."""
    for n in range(count):
        pushes.add(note(n), "relay", to(A), T0, seq=n)
    ((addr, messages),) = sent_of(pushes.due(T0 + 0.5)[0])
    assert addr == A
    return [m.id for m in messages]


def test_a_relay_to_members_that_hold_nothing_back_is_bounded_by_fast_live_lines() -> None:
    """The rule of the relay's fast path: lines relayed at moments of their own each go at
    once in a datagram of their own, past IN_FLIGHT datagrams, while fewer than FAST_LIVE
    are unanswered; then a line waits for room as any push does."""
    pushes = Pushes()
    members = ([owner(A), owner(B)], [A, B])
    for n in range(FAST_LIVE):
        assert pushes.add_many(note(n), "relay", members, T0 + n * 1e-3) == [A, B]
    assert pushes.counts()[0] == 2 * FAST_LIVE > 2 * IN_FLIGHT
    assert pushes.add_many(note(FAST_LIVE), "relay", members, T0 + 2.0) == []
    assert pushes.counts()[1] == 2


def test_a_burst_to_a_member_behind_is_sent_again_its_oldest_datagram_not_every_line() -> None:
    # 200 lines relayed to a peer that needs more than the timeout to answer: its oldest
    # datagram goes again, not every line (which doubled what it had to do)
    pushes = Pushes(timeout=0.5, attempts=5)
    first = first_datagram(pushes, 200)
    assert first == [f"r-{n}" for n in range(len(first))] and 1 < len(first) < 50
    assert pushes.counts()[0] == 200


def test_a_member_answering_in_order_is_sent_nothing_twice_however_long_it_takes() -> None:
    pushes = Pushes(timeout=0.5, attempts=5)
    first = first_datagram(pushes, 200)
    acked, now = 0, T0 + 0.5
    while acked < 200:  # a datagram's worth answered every 0.4 s: each starts the timeout
        now += 0.4
        pushes.clear_acked([f"r-{n}" for n in range(acked, acked + len(first))], A, now)
        acked += len(first)
        assert pushes.due(now) == ([], [])
    assert pushes.counts()[0] == 0 and pushes.next_wake() is None


def test_a_datagram_unanswered_when_a_later_one_is_answered_is_sent_again_at_once() -> None:
    pushes = Pushes(timeout=0.5, attempts=5)
    pushes.add(note(0), "relay", to(A), T0)
    pushes.add(note(1), "relay", to(A), T0 + 0.01)  # a datagram of its own
    pushes.clear_acked(["r-1"], A, T0 + 0.1)  # the peer reads in order: r-0 was lost
    assert pushes.next_wake() == T0 + 0.1
    sends, failed = pushes.due(T0 + 0.1)
    assert sent_of(sends) == [(A, [note(0)])] and failed == []
    assert pushes.next_wake() == T0 + 0.6


def test_a_datagram_given_up_starts_the_members_timeout_again() -> None:
    pushes = Pushes(timeout=0.5, attempts=1)
    pushes.add(note(0), "relay", to(A), T0, seq=0)
    pushes.add(note(1), "relay", to(A), T0 + 0.05, seq=1)
    sends, failed = pushes.due(T0 + 0.5)
    assert sends == [] and ended(failed) == [(owner(A), A, note(0), "relay", 0)]
    assert pushes.next_wake() == T0 + 1.0
    sends, failed = pushes.due(T0 + 1.0)
    assert sends == [] and ended(failed) == [(owner(A), A, note(1), "relay", 1)]


def test_a_clock_stepped_back_never_loses_a_retry() -> None:
    pushes = Pushes(timeout=0.5, attempts=2)
    pushes.add(note(0), "relay", to(A), T0)
    pushes.add(note(1), "relay", to(B), T0 - 10)  # the clock went back 10 s
    assert pushes.next_wake() == T0 + 0.5
    sends, _ = pushes.due(T0 + 0.5)
    assert [addr for addr, _ in sends] == [A, B]


def test_a_message_already_in_flight_to_a_peer_is_not_sent_to_it_twice() -> None:
    pushes = Pushes()
    pushes.add(note(1), "room", to(A), T0)
    assert pushes.add(note(1), "room", to(A, B), T0) == [B]
    assert pushes.counts()[0] == 2
    n = 2
    while pushes.add(note(n), "room", to(A), T0 + n):  # a datagram each, till A is full
        n += 1
    assert pushes.counts()[1] == 1  # nor twice to one it waits for
    assert pushes.add(note(n), "room", to(A), T0 + n) == [] and pushes.counts()[1] == 1


def test_dropping_a_peer_returns_what_is_in_flight_then_what_waits_in_order() -> None:
    pushes = Pushes()
    for n in range(4):  # each a datagram of its own
        pushes.add(note(n), "relay", to(A, B) if n == 0 else to(A), T0 + n, seq=n)
    dropped = pushes.drop_all(A)
    assert [(f.message, f.seq) for _, _, f in dropped] == [(note(n), n) for n in range(4)]
    assert pushes.counts() == (1, 0)  # B's push is untouched
    assert pushes.clear_acked(["r-0"], A, T0)[1] == []  # a late ack for a dropped push
    assert pushes.clear_acked(["r-0"], B, T0)[1] != []


def test_what_follows_a_streamed_push_to_an_address_waits_until_it_ends() -> None:
    # A push too big for a datagram goes over TCP and would arrive after the datagrams
    # pushed after it: a long channel message and the short one after it, swapped.
    pushes = Pushes(timeout=0.5, attempts=2, streamed=lambda m: m.id == "r-1")
    assert pushes.add(note(1), "relay", to(A, B), T0, seq=1) == [A, B]
    assert pushes.add_many(note(2), "relay", ([owner(A), owner(B), owner(C)], [A, B, C]), T0) == [C]
    assert pushes.add(note(3), "relay", to(A), T0, seq=3) == []
    pushes.clear_acked(["r-1"], A, T0 + 0.1)  # A has the long one: the rest follow
    assert sent_of(pushes.due(T0 + 0.1)[0]) == [(A, [note(2), note(3)])]
    pushes.clear_acked(["r-2", "r-3"], A, T0 + 0.2)
    pushes.clear_acked(["r-2"], C, T0 + 0.2)
    assert pushes.due(T0 + 0.2) == ([], [])  # C was never held
    pushes.due(T0 + 0.5)  # sent again to B, which never answers the long one
    sends, failed = pushes.due(T0 + 1.0)  # given up
    assert [(f.message.id, addr) for _, addr, f in failed] == [("r-1", B)]
    assert sent_of(sends) == [(B, [note(2)])]


def test_a_streamed_push_let_out_of_a_queue_holds_back_the_rest_in_turn() -> None:
    pushes = Pushes(timeout=0.5, attempts=2, streamed=lambda m: m.id in ("r-1", "r-2"))
    pushes.add(note(1), "relay", to(A), T0)
    pushes.add(note(2), "relay", to(A), T0)
    pushes.add(note(3), "relay", to(A), T0)
    pushes.clear_acked(["r-1"], A, T0 + 0.1)
    assert sent_of(pushes.due(T0 + 0.1)[0]) == [(A, [note(2)])]  # and r-3 waits behind it
    pushes.clear_acked(["r-2"], A, T0 + 0.2)
    assert sent_of(pushes.due(T0 + 0.2)[0]) == [(A, [note(3)])]
    assert pushes.drop_all(A) and pushes.add(note(4), "relay", to(A), T0 + 0.3) == [A]


def test_idle_members_are_forgotten_when_many_but_a_busy_one_is_kept() -> None:
    pushes = Pushes(timeout=0.5, attempts=5)
    pushes.add(note(0), "relay", to(A), T0)
    many = [("10.0.0.1", port) for port in range(1, SWEEP_AT + 2)]
    owners = [owner(addr) for addr in many]
    assert pushes.add_many(note(1), "relay", (owners, many), T0 + 0.1) == many
    for addr in many:
        pushes.clear_acked(["r-1"], addr, T0 + 0.2)
    pushes.add(note(2), "relay", to(B), T0 + 0.3)  # more members than SWEEP_AT: swept
    assert pushes.counts()[0] == 2
    assert (
        pushes.clear_acked(["r-0"], A, T0 + 0.4)[1] and pushes.clear_acked(["r-2"], B, T0 + 0.4)[1]
    )
    assert pushes.counts()[0] == 0


def test_a_relays_datagram_shared_by_its_members_ends_with_the_last_of_them() -> None:
    """Lines relayed at one moment share datagrams among all the members: one member's
    Acks of several datagrams ends them at once; another's of part of one, only that part;
    the lines stay pending until the last member's push of each has ended."""
    pushes = Pushes(timeout=0.5, attempts=1)
    lines = [note(n) for n in range(1000, 1000 + 2 * (ROOM // (len(encode(note(1000))) + 1)))]
    members = ([owner(A), owner(B), owner(C)], [A, B, C])
    for line in lines:
        assert pushes.add_many(line, "relay", members, T0) == [A, B, C]
        pushes.watch(line.id)
    ids = [line.id for line in lines]
    assert pushes.counts()[0] == 3 * len(lines)
    who, answered = pushes.clear_acked(ids, A, T0 + 0.1)  # both datagrams whole, at once
    assert who == owner(A) and [f.message for f in answered] == lines
    assert pushes.clear_acked(ids[:1], B, T0 + 0.1)[1][0].message == lines[0]  # part of one
    assert pushes.counts()[0] == 2 * len(lines) - 1 and pushes.ended() == []
    pushes.clear_acked(ids, C, T0 + 0.2)
    assert pushes.ended() == ids[:1]  # B has not answered the rest
    _, failed = pushes.due(T0 + 0.6)  # B's oldest datagram given up (one attempt)
    assert [f.message for _, _, f in failed] == lines[1 : len(failed) + 1] and failed[0][1] == B
    pushes.clear_acked(ids, B, T0 + 0.7)
    assert pushes.ended() == ids[1:] and pushes.counts()[0] == 0


def test_a_relays_members_are_armed_at_once_and_only_the_silent_are_sent_again() -> None:
    """The members of a relay are armed at once: answered in any order, the deadline
    stays while one is silent, and only that one is sent the line again."""
    pushes = Pushes(timeout=0.5, attempts=2)
    line = note(1)
    assert pushes.add_many(line, "relay", ([owner(A), owner(B), owner(C)], [A, B, C]), T0)
    pushes.clear_acked(["r-1"], A, T0 + 0.1)
    pushes.clear_acked(["r-1"], C, T0 + 0.1)
    assert pushes.next_wake() == T0 + 0.5
    sends, failed = pushes.due(T0 + 0.5)
    assert sent_of(sends) == [(B, [line])] and failed == []
    pushes.clear_acked(["r-1"], B, T0 + 0.6)
    assert pushes.next_wake() is None and pushes.counts() == (0, 0)


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sets(st.sampled_from([A, B, C]), min_size=1)),
        st.tuples(st.just("many"), st.sets(st.sampled_from([A, B, C]), min_size=1)),
        st.tuples(
            st.just("ack"),
            st.tuples(st.integers(0, 40), st.integers(1, 3), st.sampled_from([A, B, C])),
        ),
        st.tuples(st.just("time"), st.sampled_from([0.0, 0.05, 0.3, 0.5, 1.0])),
        st.tuples(st.just("drop"), st.sampled_from([A, B, C])),
    ),
    max_size=80,
)


def streamed(msg: Message) -> bool:
    """Every third message of the property test is too big for a datagram."""
    return int(msg.id[2:]) % 3 == 1


@settings(max_examples=examples(150), deadline=None)
@given(ops)
def test_every_push_ends_once_and_a_datagram_at_most_is_in_flight(
    steps: list[tuple[str, object]],
) -> None:
    pushes = Pushes(timeout=0.5, attempts=2, streamed=streamed)
    now = T0
    added: list[tuple[Message, Addr]] = []  # one per (message, address) pushed
    on_wire: dict[tuple[str, Addr], int] = {}  # copies sent
    first_sent: dict[Addr, list[str]] = {A: [], B: [], C: []}
    ended: list[tuple[str, Addr]] = []
    reported: list[str] = []  # what `ended` said, of the messages watched (every other one)

    def sent(msg: Message, addr: Addr) -> None:
        if (msg.id, addr) not in on_wire:
            # nothing overtakes a streamed push: it goes out once that one has ended
            for sid in first_sent[addr]:
                if streamed(note(int(sid[2:]))):
                    assert (sid, addr) in ended, f"{msg.id} sent to {addr} before {sid} ended"
            first_sent[addr].append(msg.id)
        on_wire[(msg.id, addr)] = on_wire.get((msg.id, addr), 0) + 1

    def end(push: Push) -> None:
        who, addr, flight = push
        assert who == owner(addr)
        ended.append((flight.message.id, addr))

    def wake(at: float) -> None:
        while (due := pushes.next_wake()) is not None and due <= at:
            sends, failed = pushes.due(due)
            for p in failed:
                end(p)
            for addr, messages in sent_of(sends):
                for msg in messages:
                    sent(msg, addr)

    messages = 0
    for kind, arg in steps:
        if kind in ("add", "many"):
            msg = note(messages)
            targets = sorted(arg)  # type: ignore[call-overload]
            if kind == "add":
                now_to = pushes.add(msg, "relay", to(*targets), now, seq=messages)
            else:
                owners = [owner(a) for a in targets]
                now_to = pushes.add_many(msg, "relay", (owners, targets), now, seq=messages)
            for addr in now_to:
                sent(msg, addr)
            added += [(msg, a) for a in targets]
            if messages % 2 == 0:
                pushes.watch(msg.id)
            messages += 1
        elif kind == "ack":
            n, k, addr = arg  # type: ignore[misc]
            # one Acks of up to three ids: one datagram's, several, or part of one
            ids = [f"r-{i}" for i in range(n, n + k) if (f"r-{i}", addr) in on_wire]
            if ids:  # only what was sent is acked
                who, answered = pushes.clear_acked(ids, addr, now)
                for flight in answered:
                    assert who == owner(addr) and flight.message.id in ids
                    ended.append((flight.message.id, addr))
        elif kind == "time":
            now += float(arg)  # type: ignore[arg-type]
            wake(now)
        else:
            for p in pushes.drop_all(arg):  # type: ignore[arg-type]
                end(p)
        flying = {k for k in on_wire if k not in ended}
        for addr in (A, B, C):  # at most IN_FLIGHT datagrams of them
            mine = [note(int(k[0][2:])) for k in flying if k[1] == addr]
            small = [m for m in mine if not streamed(m)]
            assert sum(len(encode(m)) + 1 for m in small) <= IN_FLIGHT * ROOM
            assert len(mine) - len(small) <= 1
        # a watched message is reported once its last push has ended, and only then (a
        # channel post's outcome waits for this: registry.core.posts.Posts.over)
        owed = {m.id for m, a in added if (m.id, a) not in ended}
        reported += pushes.ended()
        watched = {f"r-{n}" for n in range(0, messages, 2)}
        assert len(reported) == len(set(reported)) and set(reported) == watched - owed
    assert len(ended) == len(set(ended))  # nothing ends twice
    assert all(copies <= 2 for copies in on_wire.values())  # never more than `attempts`
    for addr in (A, B, C):  # first copies leave in the order the messages were added
        order = [m.id for m, a in added if a == addr and m.id in first_sent[addr]]
        assert first_sent[addr] == order
    waiting = len(added) - len(set(ended))
    assert waiting == sum(pushes.counts())  # the rest is still held, none lost
    # and nothing waits for ever: with no more acks, everything is given up in the end
    wake(float("inf"))
    assert pushes.counts() == (0, 0)
    assert len(set(ended)) == len(added)


def test_a_push_unacked_is_sent_again_then_given_up_in_order() -> None:
    s = services(timing=(0.5, 2))
    bob = record(s, "bob", 7002)
    out: list[ra.Action] = []
    s.pushes.push((bob,), Notice("r-a", "one"), "notice", T0, out.append)
    s.pushes.push((bob,), Notice("r-b", "two"), "notice", T0, out.append)
    assert [m.id for _, m in sent(out)] == ["r-a", "r-b"] and sum(s.pushes.counts()) == 2
    again: list[ra.Action] = []
    assert s.pushes.retry(T0 + 0.5, again.append) == [] and len(sent(again)) == 2
    failed = s.pushes.retry(T0 + 1.0, [].append)
    assert [f.message.id for _, _, f in failed] == ["r-a", "r-b"] and sum(s.pushes.counts()) == 0


def test_an_ack_answers_its_push_and_names_its_owner() -> None:
    s = services()
    bob = record(s, "Bob", 7002)
    s.pushes.push((bob,), Notice("r-a", "one"), "notice", T0, [].append)
    owner, answered = s.pushes.clear_acked(["r-a", "nothing"], bob.addr, T0)
    assert owner == "bob" and [f.message.id for f in answered] == ["r-a"]


def test_dropped_pushes_come_back_oldest_first() -> None:
    s = services()
    bob = record(s, "bob", 7002)
    for i in range(3):
        s.pushes.push((bob,), Notice(f"r-{i}", "x"), "notice", T0, [].append)
    assert [f.message.id for _, _, f in s.pushes.drop_all(bob.addr)] == ["r-0", "r-1", "r-2"]


def test_pushes_need_time_and_tries() -> None:
    with pytest.raises(ValueError):
        Pushes(0.0, 5)
