"""Outgoing, the endpoint's batching and ack-merging policy: given what is sent and what ends
a batch (a drain of the socket, a pass of the event loop, a `packed` block), which datagrams
leave now and which later (here on no socket: what a step sent is what its channel sealed)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from net.outgoing import ACK_DELAY, AckDelay, Addr, DatagramChannel, Dest, Outgoing
from secure.channel import Send
from tests.datagrams import messages_of
from wire.codec import encode
from wire.limits import MAX_DATAGRAM
from wire.messages import Ack, Acks, Message, Notice

# where each datagram goes: an address and the key it is sealed for (net.outgoing.Dest)
A, B, C = ((("127.0.0.1", 6000 + n), bytes([n]) * 32) for n in (1, 2, 3))


#: One datagram's bytes, before sealing, and where it goes.
Datagram = tuple[bytes, Dest]


class Clear:
    """A channel that seals nothing (the policy does not depend on it), and lists what it
    was given to seal."""

    def __init__(self) -> None:
        self.sealed: list[Datagram] = []

    def seal(self, datas: list[bytes], dests: Sequence[Dest], now: float, send: Send) -> None:
        for dest in dests:
            for data in datas:
                self.sealed.append((data, dest))
                send((data, dest[0]))


#: What `Outgoing.datagram` says: the datagram left now, or it waits.
NOW, LATER = True, False


def outgoing(*, coalesce_drains: bool = False) -> Outgoing:
    ids = itertools.count(1)
    channel = cast(DatagramChannel, Clear())
    return Outgoing(lambda: f"o-{next(ids)}", channel, float, coalesce_drains=coalesce_drains)


def begin_drain(out: Outgoing) -> None:
    """What the endpoint's drain does as it begins (net/endpoint.py)."""
    out.holding, out.draining = out.coalesce_drains, True


def step(end: Callable[[], None], out: Outgoing) -> list[Datagram]:
    """What leaves as `end` (what ends a batch of `out`) runs, in order."""
    channel = cast(Clear, out.channel)
    channel.sealed = []
    end()
    return channel.sealed


def notice(n: int) -> bytes:
    return encode(Notice(f"n-{n}", f"line {n}"))


def ack(out: Outgoing, to: Dest, reply_to: str) -> bool:
    """When an Ack of `reply_to` for `to` leaves: LATER when it waits, merged."""
    return out.datagram(b"", to, Ack("a-0", reply_to))


def messages(datagrams: list[Datagram], to: Dest) -> list[Message]:
    """The messages the datagrams for `to` carry, in order."""
    return [m for data, addr in datagrams if addr == to for m in messages_of(data)]


def test_the_first_datagram_of_a_pass_leaves_at_once_and_asks_for_the_end_of_the_pass() -> None:
    out = outgoing()
    assert out.datagram(notice(0), A) is NOW
    assert out.datagram(notice(1), A) is LATER
    assert out.datagram(notice(2), B) is NOW  # the end of the pass is asked for already
    assert out.datagram(notice(3), A) is LATER
    sent = step(out.flush, out)
    assert len(sent) == 1  # A's two that waited, packed into one datagram
    assert [m.id for m in messages(sent, A)] == ["n-1", "n-3"]
    assert out.datagram(notice(4), A) is NOW  # a new pass
    assert step(out.flush, out) == []


def test_within_a_peers_drain_the_first_answer_leaves_at_once_and_the_drain_end_flushes() -> None:
    out = outgoing()
    begin_drain(out)
    assert out.datagram(notice(0), A) is NOW  # no pass of the loop asked for
    assert out.datagram(notice(1), A) is LATER
    assert [m.id for m in messages(step(out.drain_ends, out), A)] == ["n-1"]
    assert step(out.drain_ends, out) == []  # nothing waits


def later(calls: list[object]) -> Callable[[Callable[[], object]], object]:
    return lambda then: calls.append((ACK_DELAY, then))


def test_what_waits_in_a_peers_drain_asks_no_loop_callback_and_acks_owed_a_relay_a_timer() -> None:
    out, calls, timers = outgoing(), [], []
    out.open(calls.append, later(timers))
    begin_drain(out)
    assert ack(out, A, "x-1") is NOW
    assert ack(out, A, "x-2") is LATER
    assert calls == []  # the drain's end sends it: no pass of the loop to wait for
    assert messages(step(out.drain_ends, out), A) == [Ack("o-1", "x-2")]
    out.acks_later(B, ["r-1"])  # they wait up to ACK_DELAY
    out.acks_later(B, ["r-2"])
    assert calls == [] and [delay for delay, _ in timers] == [ACK_DELAY]


def test_acks_owed_a_relay_leave_merged_once_the_delay_is_over_not_as_the_pass_ends() -> None:
    """Acks owed a relay wait for the timer asked for by the first (ACK_DELAY), over passes
    of the loop, and leave merged; the next asks for a timer again."""
    out, calls, timers = outgoing(), [], []
    out.open(calls.append, later(timers))
    sent: list[bytes] = []
    out.on_sent = lambda data, addr: sent.append(data)
    for n in range(40):
        out.acks_later(A, [f"r-{n}"])
        out.pass_ends()
    assert sent == [] and calls == [] and len(timers) == 1  # not yet
    timers[0][1]()  # ACK_DELAY is over
    assert [messages_of(data) for data in sent] == [
        [Acks("o-1", tuple(f"r-{n}" for n in range(40)))]
    ]
    out.pass_ends()
    out.acks_later(A, ["t-1"])
    assert len(timers) == 2
    timers[1][1]()
    assert messages_of(sent[-1]) == [Ack("o-2", "t-1")]


def test_the_acks_of_every_outgoing_on_one_loop_share_one_timer() -> None:
    """Outgoings opened with the same AckDelay ask `call_later` once, and all their acks
    leave when it fires; the next ack owed asks again."""
    timers: list[tuple[float, Callable[[], object]]] = []
    shared = AckDelay(lambda delay, then: timers.append((delay, then)))
    outs = [outgoing(), outgoing()]
    for out in outs:
        out.open(lambda then: None, shared)
    outs[0].acks_later(A, ["r-1"])
    outs[1].acks_later(B, ["s-1"])
    assert [delay for delay, _ in timers] == [ACK_DELAY]
    timers[0][1]()  # ACK_DELAY is over
    assert [
        messages(cast(Clear, out.channel).sealed, d) for out, d in zip(outs, (A, B), strict=True)
    ] == [
        [Ack("o-1", "r-1")],
        [Ack("o-1", "s-1")],
    ]
    outs[0].acks_later(A, ["r-2"])
    assert len(timers) == 2


def test_a_drain_end_forgets_what_went_at_once_so_the_next_drains_answer_leaves_at_once() -> None:
    out = outgoing()
    begin_drain(out)
    assert out.datagram(notice(0), A) is NOW
    assert step(out.drain_ends, out) == []  # nothing waited
    begin_drain(out)
    assert out.datagram(notice(1), A) is NOW  # no pass of the loop needed in between
    assert out.datagram(notice(2), A) is LATER


def test_a_peers_acks_to_a_relay_wait_and_nothing_sent_there_overtakes_them() -> None:
    """Acks owed a relay wait for their timer, even the first, not the end of the drain,
    merged into one datagram per address; a request (a `dereg`) sent there after
    them leaves after them; an ack to another address goes as it would."""
    out = outgoing()
    begin_drain(out)
    out.acks_later(A, ["r-1"])
    out.acks_later(A, ["r-2", "r-3"])
    out.acks_later(B, ["s-1"])
    assert step(out.drain_ends, out) == []
    assert out.datagram(notice(0), A) is LATER  # after the acks owed A
    assert ack(out, C, "t-1") is NOW
    out.acks_later(A, ["r-4"])
    sent: list[tuple[bytes, Addr]] = []
    out.on_sent = lambda data, addr: sent.append((data, addr))
    out.acks_leave()  # ACK_DELAY is over
    out.pass_ends()
    assert len(sent) == 2  # one datagram per address
    to = {
        dest: [m for data, addr in sent if addr == dest[0] for m in messages_of(data)]
        for dest in (A, B)
    }
    assert to[A] == [
        Acks("o-1", ("r-1", "r-2", "r-3")),
        *messages_of(notice(0)),
        Ack("o-3", "r-4"),
    ]
    assert to[B] == [Ack("o-2", "s-1")]
    assert step(out.flush, out) == [] and not out.flush_asked


def test_acks_owed_ask_one_loop_callback_a_pass_and_the_next_pass_sends_at_once() -> None:
    """A pass's end is the end of a batch: after the acks owed leave, with what waits, in
    one loop callback, the next datagram to that address (a request) leaves at once."""
    out, calls = outgoing(), []
    out.open(calls.append, lambda then: None)
    assert out.datagram(notice(0), A) is NOW
    for n in range(3):  # (with no drain in between: acks that came over TCP, say)
        out.acks_later(A, [f"r-{n}"])
        assert out.datagram(notice(n + 1), A) is LATER  # after the acks owed, as before
        assert len(calls) == n + 1  # one callback for the acks and for what waits
        calls[-1]()  # the end of the pass
        assert not out.went
    assert out.datagram(notice(9), A) is NOW


def test_an_ack_goes_alone_when_nothing_else_went_and_else_waits_to_be_merged() -> None:
    out = outgoing()
    assert ack(out, A, "x-1") is NOW  # alone, at once
    assert ack(out, A, "x-2") is LATER
    assert ack(out, A, "x-3") is LATER
    assert out.datagram(notice(0), A) is LATER
    assert ack(out, B, "y-1") is NOW  # nothing went to B in this pass
    got = messages(step(out.flush, out), A)
    assert got[0] == Notice("n-0", "line 0")  # the rest first, the acks after it
    assert got[1:] == [Acks("o-1", ("x-2", "x-3"))]


def test_a_lone_ack_that_waited_is_an_ack_and_too_many_split_to_fit_datagrams() -> None:
    out = outgoing()
    begin_drain(out)
    assert out.datagram(notice(0), A) is NOW
    assert ack(out, A, "x-1") is LATER
    long = [f"r-{i:03}-" + "x" * 58 for i in range(200)]
    assert out.datagram(notice(1), B) is NOW
    for reply_to in long:
        assert ack(out, B, reply_to) is LATER
    sent = step(out.drain_ends, out)
    assert messages(sent, A) == [Ack("o-1", "x-1")]
    to_b = messages(sent, B)
    assert [r for m in to_b if isinstance(m, Acks) for r in m.replies] == long
    assert all(len(data) <= MAX_DATAGRAM for data, _ in sent)
    assert 2 <= len(to_b) <= 20  # several Acks, far fewer than 200


def test_a_relay_waits_for_the_end_of_its_drain_packed_acks_merged() -> None:
    out = outgoing(coalesce_drains=True)
    begin_drain(out)
    assert out.datagram(notice(0), A) is LATER  # even the first
    assert ack(out, A, "x-1") is LATER
    assert ack(out, B, "y-1") is LATER
    sent = step(out.drain_ends, out)
    assert messages(sent, A) == [Notice("n-0", "line 0"), Ack("o-1", "x-1")]
    assert messages(sent, B) == [Ack("o-2", "y-1")]


def test_the_first_relaying_datagram_of_a_drain_is_relayed_packed_once_it_is_handled() -> None:
    out = outgoing(coalesce_drains=True)
    members = (A, B, C)
    begin_drain(out)
    assert out.relay(members, notice(0)) is True
    assert out.relay(members, notice(1)) is True
    assert out.relaying_early
    first = step(out.datagram_ends, out)  # the datagram that relayed both is handled
    assert len(first) == 3  # one packed datagram to each member
    for member in members:
        assert [m.id for m in messages(first, member)] == ["n-0", "n-1"]
    assert not out.relaying_early and step(out.datagram_ends, out) == []
    assert out.relay(members, notice(2)) is True  # a later datagram's: the drain's end
    assert out.relay(members, notice(3)) is True
    assert step(out.datagram_ends, out) == []
    sent = step(out.drain_ends, out)
    assert len(sent) == 3
    for member in members:
        assert [m.id for m in messages(sent, member)] == ["n-2", "n-3"]


def test_a_relay_of_more_than_a_datagram_leaves_each_members_datagrams_back_to_back() -> None:
    """A member reads what was relayed to it in one go and acks it once, rather than its
    first datagram while the others' are still being sent."""
    out = outgoing(coalesce_drains=True)
    long = [encode(Notice(f"n-{n}", "x" * (MAX_DATAGRAM // 2))) for n in range(3)]
    begin_drain(out)
    for data in long:
        out.relay((A, B), data)
    first = step(out.datagram_ends, out)  # the first datagram's, packed
    for data in long:
        out.relay((A, B), data)  # a later datagram's: the drain's end
    for sent in (first, step(out.drain_ends, out)):
        assert [dest for _, dest in sent] == [A, A, A, B, B, B]
    out = outgoing(coalesce_drains=True)
    assert out.relay((A, B), notice(0)) is False  # not in a drain: `datagram` for each
    begin_drain(out)
    out.datagram(notice(1), A)
    assert out.relay((A, B), notice(2)) is False  # something waits for A: it stays first


def test_a_members_other_messages_and_acks_follow_the_relay_in_order() -> None:
    out = outgoing(coalesce_drains=True)
    begin_drain(out)
    assert out.relay((A, B), notice(0)) is True
    out.datagram_ends()
    assert out.relay((A, B), notice(1)) is True
    assert out.datagram(notice(2), A) is LATER  # the entry becomes per-member batches
    assert out.relay((A, B), notice(3)) is False
    assert ack(out, B, "y-1") is LATER
    sent = step(out.drain_ends, out)
    assert [m.id for m in messages(sent, A)] == ["n-1", "n-2"]
    assert [m.id for m in messages(sent, B)] == ["n-1", "o-1"]


def test_a_members_ack_unpacks_the_relay_entry_so_it_comes_after_the_relay() -> None:
    out = outgoing(coalesce_drains=True)
    begin_drain(out)
    out.relay((A, B), notice(0))
    out.datagram_ends()
    out.relay((A, B), notice(1))
    assert ack(out, A, "x-1") is LATER
    sent = step(out.drain_ends, out)
    assert messages(sent, A) == [Notice("n-1", "line 1"), Ack("o-1", "x-1")]
    assert messages(sent, B) == [Notice("n-1", "line 1")]


def test_what_is_sent_within_packed_waits_for_its_end_and_a_nested_block_for_the_outer() -> None:
    out = outgoing(coalesce_drains=True)
    outer = out.packed()

    def nested() -> None:
        with out.packed():
            pass

    outer.__enter__()
    assert ack(out, A, "x-1") is LATER  # waits, even with nothing sent to A before it
    assert out.datagram(notice(0), A) is LATER
    assert step(nested, out) == []  # the outer block still holds them
    assert messages(step(lambda: outer.__exit__(None, None, None), out), A) == [
        Notice("n-0", "line 0"),
        Ack("o-1", "x-1"),
    ]
    assert out.datagram(notice(1), A) is NOW  # sends no longer wait


SENDS = st.lists(
    st.tuples(st.sampled_from(["message", "ack"]), st.sampled_from([A, B, C])), max_size=40
)


@given(SENDS, st.booleans(), st.booleans())
def test_each_address_gets_everything_once_in_order_the_acks_that_waited_last(
    sends: list[tuple[str, Dest]], in_drain: bool, coalesce: bool
) -> None:
    """Whatever is sent in one pass (or one drain), each address gets every message and
    ack sent to it once: what was given to `datagram` in the order given, then the acks
    that waited to be merged, in the order made."""
    out = outgoing(coalesce_drains=coalesce)
    if in_drain:
        begin_drain(out)
    sent: list[Datagram] = []
    given_: dict[Dest, list[str]] = {A: [], B: [], C: []}
    merged: dict[Dest, list[str]] = {A: [], B: [], C: []}
    for n, (kind, addr) in enumerate(sends):
        if kind == "ack":
            data, ack_of = encode(Ack(f"a-{n}", f"x-{n}")), f"x-{n}"
            when = out.datagram(b"", addr, Ack(f"a-{n}", ack_of))
        else:
            data, ack_of = notice(n), ""
            when = out.datagram(data, addr)
        if ack_of and when is LATER:
            merged[addr].append(ack_of)
            continue
        given_[addr].append(ack_of or f"n-{n}")
        if when is not LATER:
            sent.append((data, addr))
    sent += step(out.drain_ends, out) if in_drain else step(out.flush, out)
    assert all(len(data) <= MAX_DATAGRAM for data, _ in sent)
    for addr in (A, B, C):
        got: list[str] = []
        for message in messages(sent, addr):
            if isinstance(message, Acks):
                got += message.replies
            else:
                got.append(message.reply_to if isinstance(message, Ack) else message.id)
        assert got == given_[addr] + merged[addr]


DRAIN_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("relay"), st.sampled_from([(A, B), (A, B, C), (B, C)])),
        st.tuples(st.just("message"), st.sampled_from([(A,), (B,), (C,)])),
        st.tuples(st.just("datagram ends"), st.just(())),
    ),
    max_size=40,
)


@given(DRAIN_STEPS)
def test_in_a_relays_drain_each_member_gets_everything_once_in_order(
    steps: list[tuple[str, tuple[Dest, ...]]],
) -> None:
    """Relays to many members, messages to one, and the ends of the datagrams that asked
    for them, in one drain of a relay: each member gets what was sent to it once, in the
    order sent, whether it left at a datagram's end or at the drain's."""
    out = outgoing(coalesce_drains=True)
    begin_drain(out)
    sent: list[Datagram] = []
    given_: dict[Dest, list[str]] = {A: [], B: [], C: []}
    for n, (kind, dests) in enumerate(steps):
        if kind == "datagram ends":
            sent += step(out.datagram_ends, out)
            continue
        data = notice(n)
        for dest in dests:
            given_[dest].append(f"n-{n}")
        if kind == "relay" and out.relay(dests, data) is True:
            continue
        for dest in dests:  # (a relay `relay` declined: to each member, as the endpoint does)
            assert out.datagram(data, dest) is LATER  # everything waits in a drain
    sent += step(out.drain_ends, out)
    assert all(len(data) <= MAX_DATAGRAM for data, _ in sent)
    for dest in (A, B, C):
        assert [m.id for m in messages(sent, dest)] == given_[dest]


@given(st.integers(1, 400), st.booleans())
def test_a_datagrams_acks_leave_as_few_datagrams_or_wait_with_the_rest(
    count: int, busy: bool
) -> None:
    """A datagram's acks, given together: each id acked once, in order, in datagrams that
    fit; merged with the acks of the pass when something for the address went already."""
    out = outgoing()
    replies = [f"m-{n:04}" for n in range(count)]
    if busy:
        out.datagram(notice(0), A)
        assert step(lambda: out.send_acks(A, Acks("a-1", (*replies,))), out) == []
        sent = step(out.flush, out)
    else:
        sent = step(lambda: out.send_acks(A, Acks("a-1", (*replies,))), out)
        sent += step(out.flush, out)  # those after the first waited for the end of the pass
    acked = [
        r
        for m in messages(sent, A)
        for r in (m.replies if isinstance(m, Acks) else [m.reply_to])
        if not isinstance(m, Notice)
    ]
    assert acked == replies
    assert all(len(data) <= MAX_DATAGRAM for data, _ in sent)


def test_what_waits_for_two_keys_at_one_address_leaves_sealed_for_each_its_own() -> None:
    # a new key at the address of one not yet counted gone: an answer to the new key and a
    # push to the old one in the same pass are never packed for the same key
    old, new = (A[0], b"o" * 32), (A[0], b"n" * 32)
    out = outgoing()
    assert out.datagram(notice(0), old) is NOW
    assert out.datagram(notice(1), new) is NOW
    assert out.datagram(notice(2), old) is LATER
    assert out.datagram(notice(3), new) is LATER
    sent = step(out.flush, out)
    assert messages(sent, old) == [messages_of(notice(2))[0]]
    assert messages(sent, new) == [messages_of(notice(3))[0]]


def test_acks_too_many_for_one_datagram_fill_each_before_the_next() -> None:
    """Cut where each part is full (from each id's size), not halved until the halves fit:
    halving left datagrams half empty."""
    out = outgoing()
    replies = [f"m-{n:04}-" + "y" * 20 for n in range(150)]
    sent = step(lambda: out.send_acks(A, Acks("a-1", (*replies,))), out) + step(out.flush, out)
    datagrams = [data for data, _ in sent]
    acks = [m for data in datagrams for m in messages_of(data)]
    assert [r for m in acks if isinstance(m, Acks) for r in m.replies] == replies
    assert all(len(data) <= MAX_DATAGRAM for data in datagrams)
    for data, after in zip(datagrams, acks[1:], strict=False):
        # the next part's first id would not have fitted in this one
        assert isinstance(after, Acks) and len(data) + len(after.replies[0]) + 3 > MAX_DATAGRAM


def test_a_datagrams_acks_that_fit_leave_as_they_were_made() -> None:
    # not made again, under another id, for the same ids
    acks = Acks("core-7", ("m-1", "m-2", "m-3"))
    out = outgoing()
    assert [messages_of(data) for data, _ in step(lambda: out.send_acks(A, acks), out)] == [[acks]]
