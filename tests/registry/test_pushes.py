"""registry.core.pushes alone: one flight per message, the window per peer, the queue's order,
that every push ends answered, given up or dropped, never lost in between, and that a
message is pending exactly until then, and reported as ended (when watched) once then."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core.pushes import SWEEP_AT, Push, Pushes
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


def test_one_message_to_many_is_sent_to_all_at_once_and_resent_only_to_the_silent() -> None:
    pushes = Pushes(timeout=0.5, attempts=2)
    msg = note(1)
    assert pushes.add(msg, "relay", to(A, B, C), T0, seq=7) == [A, B, C]
    who, answered, released = pushes.answer(["r-1"], B, T0 + 0.1)
    assert who == owner(B) and [f.message for f in answered] == [msg] and released == []
    assert pushes.answer(["r-1"], B, T0 + 0.1)[1:] == ([], [])  # a second copy of the ack
    assert pushes.next_wake() == T0 + 0.5  # one timer for the whole message
    again, failed, _ = pushes.due(T0 + 0.5)
    assert again == [([A, C], msg)] and failed == []
    pushes.answer(["r-1"], A, T0 + 0.6)
    again, failed, _ = pushes.due(T0 + 1.0)
    assert again == [] and failed == [Push(owner(C), C, msg, "relay", 7)]
    assert pushes.next_wake() is None and pushes.in_flight() == 0


def test_beyond_the_window_pushes_wait_and_go_in_order_as_acks_make_room() -> None:
    pushes = Pushes(timeout=0.5, attempts=2, window=2)
    sent = [pushes.add(note(n), "relay", to(A), T0, seq=n) for n in range(5)]
    assert sent == [[A], [A], [], [], []]
    assert pushes.add(note(9), "relay", to(B), T0) == [B]  # another peer has its own window
    _, answered, released = pushes.answer(["r-1"], A, T0 + 0.1)
    assert answered and released == [Push(owner(A), A, note(2), "relay", 2)]
    assert pushes.in_flight() == 3 and pushes.queued() == 2


def test_one_acks_answers_each_flight_it_names_once_and_makes_room_for_all() -> None:
    pushes = Pushes(timeout=0.5, attempts=2, window=3)
    for n in range(6):
        pushes.add(note(n), "relay", to(A, B), T0, seq=n)
    who, answered, released = pushes.answer(["r-2", "r-0", "r-0", "r-9", "r-5"], A, T0 + 0.1)
    # in the order listed; a copy, an id never sent and one still queued are ignored
    assert who == owner(A) and [f.message.id for f in answered] == ["r-2", "r-0"]
    assert [p.seq for p in released] == [3, 4]  # two answered, two let out
    assert pushes.in_flight() == 3 + 3 and pushes.queued() == 1 + 3
    assert pushes.answer(["r-1"], C, T0) == ("", [], [])  # nothing in flight to C


def test_a_message_already_in_flight_to_a_peer_is_not_sent_to_it_twice() -> None:
    pushes = Pushes()
    pushes.add(note(1), "room", to(A), T0)
    assert pushes.add(note(1), "room", to(A, B), T0) == [B]
    assert pushes.in_flight() == 2


def test_a_released_push_gets_its_full_timeout_from_when_it_is_sent() -> None:
    pushes = Pushes(timeout=0.5, attempts=1, window=1)
    pushes.add(note(0), "relay", to(A), T0, seq=0)
    pushes.add(note(1), "relay", to(A), T0, seq=1)
    again, failed, released = pushes.due(T0 + 0.5)
    assert again == [] and failed == [Push(owner(A), A, note(0), "relay", 0)]
    assert released == [Push(owner(A), A, note(1), "relay", 1)]
    assert pushes.next_wake() == T0 + 1.0  # not T0 + 0.5: it waited, it was not in flight


def test_a_clock_stepped_back_delays_a_retry_but_never_loses_it() -> None:
    pushes = Pushes(timeout=0.5, attempts=2)
    pushes.add(note(0), "relay", to(A), T0)
    pushes.add(note(1), "relay", to(B), T0 - 10)  # the clock went back 10 s
    assert pushes.next_wake() == T0 + 0.5
    again, _, _ = pushes.due(T0 + 0.5)
    assert [addrs for addrs, _ in again] == [[A], [B]]


def test_dropping_a_peer_returns_what_is_in_flight_then_what_waits_in_order() -> None:
    pushes = Pushes(window=2)
    for n in range(4):
        pushes.add(note(n), "relay", to(A, B) if n == 0 else to(A), T0, seq=n)
    dropped = pushes.drop_all(A)
    assert [(p.message, p.seq) for p in dropped] == [(note(n), n) for n in range(4)]
    assert pushes.queued() == 0 and pushes.in_flight() == 1  # B's push is untouched
    assert pushes.answer(["r-0"], A, T0)[1] == []  # a late ack for a dropped push
    assert pushes.answer(["r-0"], B, T0)[1] != []


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sets(st.sampled_from([A, B, C]), min_size=1)),
        st.tuples(st.just("many"), st.sets(st.sampled_from([A, B, C]), min_size=1)),
        st.tuples(st.just("ack"), st.tuples(st.integers(0, 40), st.sampled_from([A, B, C]))),
        st.tuples(st.just("time"), st.floats(0.05, 1.0)),
        st.tuples(st.just("drop"), st.sampled_from([A, B, C])),
    ),
    max_size=80,
)


def streamed(msg: Message) -> bool:
    """Every third message of the property test is too big for a datagram."""
    return int(msg.id[2:]) % 3 == 1


@settings(max_examples=150, deadline=None)
@given(ops, st.sampled_from([1, 2, 3, 4, 24, 1024]))  # 24 can shrink (to 16 at least)
def test_every_push_ends_once_and_the_window_always_holds(
    steps: list[tuple[str, object]], window: int
) -> None:
    pushes = Pushes(timeout=0.5, attempts=2, window=window, streamed=streamed)
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

    def end(p: Push) -> None:
        assert p.owner == owner(p.addr)
        ended.append((p.message.id, p.addr))

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
            n, addr = arg  # type: ignore[misc]
            if (f"r-{n}", addr) in on_wire:  # only what was sent is acked
                who, answered, released = pushes.answer([f"r-{n}"], addr, now)
                for flight in answered:
                    assert who == owner(addr) and flight.message.id == f"r-{n}"
                    ended.append((f"r-{n}", addr))
                for p in released:
                    sent(p.message, p.addr)
        elif kind == "time":
            now += float(arg)  # type: ignore[arg-type]
            while (wake := pushes.next_wake()) is not None and wake <= now:
                again, failed, released = pushes.due(wake)
                for addrs, msg in again:
                    for addr in addrs:
                        sent(msg, addr)
                for p in failed:  # (what they let out of the window is sent after)
                    end(p)
                for p in released:
                    sent(p.message, p.addr)
        else:
            for p in pushes.drop_all(arg):  # type: ignore[arg-type]
                end(p)
        flying = {k for k in on_wire if k not in ended}
        for addr in (A, B, C):
            assert len([k for k in flying if k[1] == addr]) <= window
        # a message is pending while any push of it has not ended (a channel post's
        # outcome waits for this: registry.core.relay.Relay.over)
        owed = {m.id for m, a in added if (m.id, a) not in ended}
        assert {f"r-{n}" for n in range(messages) if pushes.pending(f"r-{n}")} == owed
        # and a watched one is reported once its last push has ended, and only then
        reported += pushes.ended()
        watched = {f"r-{n}" for n in range(0, messages, 2)}
        assert len(reported) == len(set(reported)) and set(reported) == watched - owed
    assert len(ended) == len(set(ended))  # nothing ends twice
    assert all(copies <= 2 for copies in on_wire.values())  # never more than `attempts`
    for addr in (A, B, C):  # first copies leave in the order the messages were added
        order = [m.id for m, a in added if a == addr and m.id in first_sent[addr]]
        assert first_sent[addr] == order
    waiting = len(added) - len(set(ended))
    assert waiting == pushes.in_flight() + pushes.queued()  # the rest is still held, none lost
    # and nothing waits for ever: with no more acks, everything is given up in the end
    while (wake := pushes.next_wake()) is not None:
        _, failed, released = pushes.due(wake)
        for p in failed:
            end(p)
        for p in released:
            sent(p.message, p.addr)
    assert pushes.in_flight() == pushes.queued() == 0
    assert len(set(ended)) == len(added)


def test_a_peer_that_needs_retries_gets_a_halved_window_that_grows_back_with_acks() -> None:
    pushes = Pushes(timeout=0.5, attempts=5, window=64)
    for n in range(70):
        pushes.add(note(n), "relay", to(A), T0, seq=n)
    assert pushes.in_flight() == 64 and pushes.queued() == 6
    again, _, _ = pushes.due(T0 + 0.5)  # 64 retries, one overload: halved once
    assert len(again) == 64 and pushes.window_of(A) == 32
    assert pushes.window_of(B) == 64  # others keep theirs
    released = []
    for n in range(40):  # 40 acks: the window grows by one each, up to 32 + 40 > 64
        released += pushes.answer([f"r-{n}"], A, T0 + 0.6)[2]
    # the queue moves once those in flight fall below the window growing back
    assert [p.seq for p in released] == [64, 65, 66, 67, 68, 69]
    assert pushes.window_of(A) == 64  # back to the full window
    pushes.due(T0 + 1.0)  # the next retries, a timeout later: halved again
    assert pushes.window_of(A) == 32
    pushes.drop_all(A)
    assert pushes.window_of(A) == 64  # a new peer at that address starts afresh


def test_a_window_shrunk_for_one_peer_holds_it_alone() -> None:
    pushes = Pushes(timeout=0.5, attempts=5, window=64)
    pushes.add(note(0), "relay", to(A), T0)
    pushes.due(T0 + 0.5)  # A needed a retry: its window is halved to 32
    pushes.answer(["r-0"], A, T0 + 0.6)
    assert pushes.window_of(A) == 33 and pushes.in_flight() == 0
    sent: list[Addr] = []
    for n in range(1, 41):
        sent += pushes.add_many(note(n), "relay", ([owner(A), owner(B)], [A, B]), T0 + 1)
    assert sent.count(B) == 40  # B's window is whole
    assert sent.count(A) == 33 and pushes.queued() == 7  # A's holds its 33, the rest wait


def test_what_follows_a_streamed_push_to_an_address_waits_until_it_ends() -> None:
    # A push too big for a datagram goes over TCP and would arrive after the datagrams
    # pushed after it: a long channel message and the short one after it, swapped.
    pushes = Pushes(timeout=0.5, attempts=2, streamed=lambda m: m.id == "r-1")
    assert pushes.add(note(1), "relay", to(A, B), T0, seq=1) == [A, B]
    assert pushes.add_many(note(2), "relay", ([owner(A), owner(B), owner(C)], [A, B, C]), T0) == [C]
    assert pushes.add(note(3), "relay", to(A), T0, seq=3) == []
    _, _, released = pushes.answer(["r-1"], A, T0 + 0.1)  # A has the long one: the rest follow
    assert [(p.message.id, p.addr) for p in released] == [("r-2", A), ("r-3", A)]
    assert pushes.answer(["r-2"], C, T0 + 0.1)[2] == []  # C was never held
    pushes.due(T0 + 0.5)  # sent again to B, which never answers the long one
    _, failed, released = pushes.due(T0 + 1.0)  # given up
    assert [(p.message.id, p.addr) for p in failed if p.message.id == "r-1"] == [("r-1", B)]
    assert [(p.message.id, p.addr) for p in released] == [("r-2", B)]


def test_a_streamed_push_let_out_of_a_queue_holds_back_the_rest_in_turn() -> None:
    pushes = Pushes(timeout=0.5, attempts=2, streamed=lambda m: m.id in ("r-1", "r-2"))
    pushes.add(note(1), "relay", to(A), T0)
    pushes.add(note(2), "relay", to(A), T0)
    pushes.add(note(3), "relay", to(A), T0)
    _, _, released = pushes.answer(["r-1"], A, T0 + 0.1)
    assert [p.message.id for p in released] == ["r-2"]  # and r-3 waits behind it
    _, _, released = pushes.answer(["r-2"], A, T0 + 0.2)
    assert [p.message.id for p in released] == ["r-3"]
    assert pushes.drop_all(A) and pushes.add(note(4), "relay", to(A), T0 + 0.3) == [A]


def test_idle_members_are_forgotten_when_many_but_a_shrunk_window_is_kept() -> None:
    pushes = Pushes(timeout=0.5, attempts=5, window=64)
    pushes.add(note(0), "relay", to(A), T0)
    pushes.due(T0 + 0.5)  # A needed a retry: its window is halved to 32
    many = [("10.0.0.1", port) for port in range(1, SWEEP_AT + 2)]
    owners = [owner(addr) for addr in many]
    assert pushes.add_many(note(1), "relay", (owners, many), T0 + 0.6) == many
    for addr in many:
        pushes.answer(["r-1"], addr, T0 + 0.7)
    pushes.add(note(2), "relay", to(B), T0 + 0.8)  # more members than SWEEP_AT: swept
    assert pushes.window_of(A) == 32 and pushes.in_flight() == 2
    assert pushes.answer(["r-0"], A, T0 + 0.9)[1] and pushes.answer(["r-2"], B, T0 + 0.9)[1]
    assert pushes.in_flight() == 0 and pushes.window_of(A) == 33
