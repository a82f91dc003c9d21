"""The Inbox alone: each (sender, id) is shown once, only the last `limit` are kept, and
every copy in a datagram is acked where it came from, unless the peer is deregistered; the
registry's acks are held, each acked once, in order, at the next `send_held`, one Acks per
address for all held."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peer.core.actions import AcksHeld, Action, Addr, Print, Send, Shown
from peer.core.inbox import Inbox
from peer.core.lifecycle import Event, Lifecycle
from wire.ids import IdMaker
from wire.messages import Ack, Acks

BOB = ("127.0.0.1", 6002)
KEY = b"b" * 32


def inbox(shown: tuple[tuple[str, str], ...] = (), *, limit: int = 50_000) -> Inbox:
    life = Lifecycle()
    life.fire(Event.WELCOME)
    new_id = IdMaker("a")
    return Inbox(life, new_id, shown, limit)


def test_a_first_sight_is_recorded_and_a_second_is_not_new() -> None:
    seen, out = inbox(), list[Action]()
    assert seen.handed_over("Bob", "b-1", out.append)
    assert out == [Shown((("bob", "b-1"),))]  # the sender as its key: names ignore case
    assert not seen.handed_over("BOB", "b-1", out.append)
    assert out == [Shown((("bob", "b-1"),))]


def test_the_ids_of_earlier_runs_are_not_new() -> None:
    seen, out = inbox((("Bob", "b-1"),)), list[Action]()
    assert not seen.handed_over("bob", "b-1", out.append)
    assert seen.handed_over("bob", "b-2", out.append)


def test_only_the_last_limit_ids_are_remembered() -> None:
    seen, out = inbox((("bob", "b-1"), ("bob", "b-2")), limit=2), list[Action]()
    assert seen.handed_over("bob", "b-3", out.append)  # pushes out the oldest, b-1
    assert not seen.handed_over("bob", "b-2", out.append)
    assert seen.accept("bob", "b-1")


def test_every_copy_in_a_datagram_is_acked_once_the_datagram_is_taken() -> None:
    seen, out = inbox(), list[Action]()
    assert seen.accept("bob", "b-1")
    assert not seen.accept("bob", "b-1")  # a copy: acked, not shown
    assert seen.accept("bob", "b-2")
    assert out == []  # (all at the end of the datagram)
    seen.taken(BOB, KEY, False, [], out.append)
    [ack] = [a for a in out if isinstance(a, Send)]
    assert ack.addr == BOB and ack.key == KEY
    assert isinstance(ack.message, Acks) and ack.message.replies == ("b-1", "b-1", "b-2")
    out.clear()
    seen.taken(BOB, KEY, False, [], out.append)  # the next datagram owes nothing
    assert out == []


def test_a_datagrams_new_ids_are_kept_in_one_shown_before_its_lines_and_acks() -> None:
    seen, out = inbox(), list[Action]()
    line = Print("bob: hi", "message", "bob")
    for msg_id in ("b-1", "b-2"):
        assert seen.accept("bob", msg_id)
    seen.taken(BOB, KEY, False, [line, line], out.append)
    assert out[0] == Shown((("bob", "b-1"), ("bob", "b-2")))
    assert [type(a) for a in out[1:]] == [Send, Print, Print]  # the sender waits on the ack
    seen.accept("bob", "b-2")  # a copy, in the next datagram: acked, nothing kept
    out.clear()
    seen.taken(BOB, KEY, False, [], out.append)
    assert [type(a) for a in out] == [Send]


def test_the_registrys_acks_are_held_and_its_datagrams_actions_keep_their_order() -> None:
    seen, out = inbox(), list[Action]()
    decided = [Print("[Channel_Message bob: hi]", "channel", "bob"), Shown((("x", "y"),))]
    assert seen.accept("bob", "c-1")
    seen.taken(BOB, KEY, True, decided, out.append)
    assert out == [Shown((("bob", "c-1"),)), *decided, AcksHeld()]


def test_a_notice_is_acked_and_shown_once_but_not_kept() -> None:
    seen, out = inbox(), list[Action]()
    assert seen.accept("", "n-1", kept=False)
    assert not seen.accept("", "n-1", kept=False)
    seen.taken(BOB, KEY, False, [], out.append)
    assert [type(a) for a in out] == [Send]


def test_a_deregistered_peer_takes_nothing_it_would_ack() -> None:
    life = Lifecycle()
    new_id = IdMaker("a")
    seen, out = Inbox(life, new_id), list[Action]()
    assert not seen.accept("bob", "b-1")
    assert seen.handed_over("bob", "b-1", out.append)  # an answer's: shown
    seen.taken(BOB, KEY, False, [], out.append)
    assert not any(isinstance(a, Send) and isinstance(a.message, Ack) for a in out)


REGISTRY = ("127.0.0.1", 5000)
OTHER = ("127.0.0.2", 5000)
REGISTRY_KEY = b"r" * 32


def hold(held: Inbox, addr: Addr, ids: list[str]) -> None:
    """Take in a datagram of the registry's, from `addr`, of messages `ids` (each new)."""
    for msg_id in ids:
        held.accept("", msg_id, kept=False)
    held.taken(addr, REGISTRY_KEY, True, [], [].append)


def acked(actions: list[Action]) -> list[tuple[Addr, str]]:
    """(address, id) of every ack sent, in order."""
    out: list[tuple[Addr, str]] = []
    for action in actions:
        assert isinstance(action, Send)
        message = action.message
        replies = message.replies if isinstance(message, Acks) else (message.reply_to,)  # type: ignore[union-attr]
        out += [(action.addr, reply) for reply in replies]
    return out


def test_the_acks_of_a_read_leave_as_one_acks_when_it_ends() -> None:
    held = inbox()
    hold(held, REGISTRY, ["r-1"])
    hold(held, REGISTRY, ["r-2"])
    assert held.acks_held
    out: list[Action] = []
    held.send_held(out.append)
    assert out == [Send(REGISTRY, Acks("a-1", ("r-1", "r-2")), REGISTRY_KEY)]
    assert not held.acks_held
    held.send_held(out.append)  # nothing more held: nothing more sent
    assert len(out) == 1


def test_one_held_alone_is_an_ack() -> None:
    held = inbox()
    hold(held, REGISTRY, ["r-1"])
    out: list[Action] = []
    held.send_held(out.append)
    assert out == [Send(REGISTRY, Ack("a-1", "r-1"), REGISTRY_KEY)]


ADDRS = st.lists(st.sampled_from([REGISTRY, OTHER]), min_size=1, max_size=5)


@given(st.lists(st.one_of(st.none(), ADDRS), max_size=40))
def test_every_id_held_is_acked_once_in_order_by_the_next_send(
    steps: list[list[Addr] | None],
) -> None:
    """Holds (of ids to addresses, in any mix) and sends (None) in any order: each id is
    acked exactly once, by the first send after it was held, in the order held per
    address."""
    held = inbox()
    order: dict[Addr, list[str]] = {REGISTRY: [], OTHER: []}
    out: list[Action] = []
    for n, addrs in enumerate(steps):
        if addrs is None:
            held.send_held(out.append)
            assert not held.acks_held
            assert sorted(i for _, i in acked(out)) == sorted(
                i for ids in order.values() for i in ids
            )
        else:
            owed = [(addr, f"r-{n}-{k}") for k, addr in enumerate(addrs)]
            for addr, msg_id in owed:
                hold(held, addr, [msg_id])
                order[addr].append(msg_id)
    held.send_held(out.append)
    sent = acked(out)
    for addr, ids in order.items():
        assert [i for a, i in sent if a == addr] == ids
