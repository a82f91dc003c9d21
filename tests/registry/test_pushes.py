"""registry.pushes alone: the window per peer, the queue's order, and that every push ends
answered, given up or dropped, never lost in between."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.pushes import Push, Pushes
from wire.messages import Notice

A, B = ("127.0.0.1", 6001), ("127.0.0.1", 6002)
T0 = 1_700_000_000.0


def push(n: int, addr: tuple[str, int] = A) -> Push:
    return Push(f"k{n}@{addr[1]}", "x", addr, Notice(f"r-{n}", "hi"), "relay")


def test_beyond_the_window_pushes_wait_and_go_in_order_as_acks_make_room() -> None:
    pushes = Pushes(timeout=0.5, attempts=2, window=2)
    sent = [pushes.add(push(n), T0) for n in range(5)]
    assert sent == [True, True, False, False, False]
    assert pushes.add(push(9, B), T0)  # another peer has a window of its own
    answered, released = pushes.answer("k1@6001", T0 + 0.1)
    assert answered == push(1) and released == [push(2)]
    assert pushes.in_flight() == 3 and pushes.queued() == 2


def test_a_released_push_gets_its_full_timeout_from_when_it_is_sent() -> None:
    pushes = Pushes(timeout=0.5, attempts=1, window=1)
    pushes.add(push(0), T0)
    pushes.add(push(1), T0)
    again, failed, released = pushes.due(T0 + 0.5)
    assert (again, failed, released) == ([], [push(0)], [push(1)])
    assert pushes.next_wake() == T0 + 1.0  # not T0 + 0.5: it waited, it was not in flight


def test_dropping_a_peer_returns_what_is_in_flight_then_what_waits_in_order() -> None:
    pushes = Pushes(window=2)
    for n in range(4):
        pushes.add(push(n), T0)
    pushes.add(push(9, B), T0)
    assert pushes.drop_all(A) == [push(0), push(1), push(2), push(3)]
    assert pushes.queued() == 0 and pushes.in_flight() == 1  # B's push is untouched
    assert pushes.answer("k0@6001", T0) == (None, [])  # a late ack for a dropped push


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from([A, B])),
        st.tuples(st.just("ack"), st.integers(0, 40)),
        st.tuples(st.just("time"), st.floats(0.05, 1.0)),
        st.tuples(st.just("drop"), st.sampled_from([A, B])),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ops, st.integers(1, 4))
def test_every_push_ends_once_and_the_window_always_holds(
    steps: list[tuple[str, object]], window: int
) -> None:
    pushes = Pushes(timeout=0.5, attempts=2, window=window)
    now = T0
    added: list[Push] = []
    on_wire: dict[str, int] = {}  # key -> copies sent
    first_sent: dict[tuple[str, int], list[str]] = {A: [], B: []}
    ended: list[str] = []

    def sent(p: Push) -> None:
        if p.key not in on_wire:
            first_sent[p.addr].append(p.key)
        on_wire[p.key] = on_wire.get(p.key, 0) + 1

    for kind, arg in steps:
        if kind == "add":
            p = push(len(added), arg)  # type: ignore[arg-type]
            added.append(p)
            if pushes.add(p, now):
                sent(p)
        elif kind == "ack":
            n = int(arg)  # type: ignore[call-overload]
            if n < len(added) and added[n].key in on_wire:  # only what was sent is acked
                answered, released = pushes.answer(added[n].key, now)
                if answered is not None:
                    ended.append(answered.key)
                for p in released:
                    sent(p)
        elif kind == "time":
            now += float(arg)  # type: ignore[arg-type]
            while (wake := pushes.next_wake()) is not None and wake <= now:
                again, failed, released = pushes.due(wake)
                for p in again + released:
                    sent(p)
                ended += [p.key for p in failed]
        else:
            ended += [p.key for p in pushes.drop_all(arg)]  # type: ignore[arg-type]
        flying = {k for k in on_wire if k not in ended}
        for addr in (A, B):
            assert len([k for k in flying if k.endswith(f"@{addr[1]}")]) <= window
    assert len(ended) == len(set(ended))  # nothing ends twice
    assert all(copies <= 2 for copies in on_wire.values())  # never more than `attempts`
    for addr in (A, B):  # first copies leave in the order the pushes were added
        order = [p.key for p in added if p.addr == addr and p.key in first_sent[addr]]
        assert first_sent[addr] == order
    waiting = len(added) - len(set(ended))
    assert waiting == pushes.in_flight() + pushes.queued()  # the rest is still held, none lost
