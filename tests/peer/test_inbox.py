"""The Inbox alone: each (sender, id) is shown once, the last `limit` at least are kept, and
every copy in a datagram is acked where it came from, unless the peer is deregistered; the
registry's as an AcksLater, after the datagram's lines. A line is shown after the one its
sender names before it, HOLD seconds at most."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peer.core.actions import AcksLater, Action, Held, Print, SendSealed, Shown
from peer.core.inbox import HOLD, Inbox
from peer.core.lifecycle import Event, Lifecycle
from wire.base import IdMaker
from wire.messages import Ack, Acks, Chat, StoredMessage

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


def test_the_last_limit_ids_at_least_are_remembered_then_forgotten_together() -> None:
    seen, out = inbox((("bob", "b-1"), ("bob", "b-2")), limit=2), list[Action]()
    assert seen.handed_over("bob", "b-3", out.append)
    assert not seen.handed_over("bob", "b-2", out.append)  # one of the last 2
    assert not seen.accept("bob", "b-1")  # kept until `limit` newer ones are
    assert seen.handed_over("bob", "b-4", out.append)  # b-1 and b-2 are older than 2 newer
    assert seen.accept("bob", "b-1") and seen.accept("bob", "b-2")


def test_every_copy_in_a_datagram_is_acked_once_the_datagram_is_taken() -> None:
    seen, out = inbox(), list[Action]()
    assert seen.accept("bob", "b-1")
    assert not seen.accept("bob", "b-1")  # a copy: acked, not shown
    assert seen.accept("bob", "b-2")
    assert out == []  # (all at the end of the datagram)
    seen.taken(BOB, KEY, False, [], out.append)
    [ack] = [a for a in out if isinstance(a, SendSealed)]
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
    assert [type(a) for a in out[1:]] == [SendSealed, Print, Print]  # the sender waits on the ack
    seen.accept("bob", "b-2")  # a copy, in the next datagram: acked, nothing kept
    out.clear()
    seen.taken(BOB, KEY, False, [], out.append)
    assert [type(a) for a in out] == [SendSealed]


def test_the_registrys_acks_come_last_and_its_datagrams_actions_keep_their_order() -> None:
    seen, out = inbox(), list[Action]()
    decided = [Print("[Channel_Message bob: hi]", "channel", "bob"), Shown((("x", "y"),))]
    assert seen.accept("bob", "c-1")
    assert not seen.accept("bob", "c-1")  # a copy: acked too
    seen.taken(BOB, KEY, True, decided, out.append)
    assert out == [Shown((("bob", "c-1"),)), *decided, AcksLater(BOB, KEY, ["c-1", "c-1"])]
    out.clear()
    seen.taken(BOB, KEY, True, [], out.append)  # the next datagram owes nothing
    assert out == []


def test_a_notice_is_acked_and_shown_once_but_not_kept() -> None:
    seen, out = inbox(), list[Action]()
    assert seen.accept("", "n-1", kept=False)
    assert not seen.accept("", "n-1", kept=False)
    seen.taken(BOB, KEY, False, [], out.append)
    assert [type(a) for a in out] == [SendSealed]


def test_a_deregistered_peer_takes_nothing_it_would_ack() -> None:
    life = Lifecycle()
    new_id = IdMaker("a")
    seen, out = Inbox(life, new_id), list[Action]()
    assert not seen.accept("bob", "b-1")
    assert seen.handed_over("bob", "b-1", out.append)  # an answer's: shown
    seen.taken(BOB, KEY, False, [], out.append)
    assert not any(isinstance(a, SendSealed) and isinstance(a.message, Ack) for a in out)


def came(seen: Inbox, line: tuple[str, str], at: float, out: list[Action], by: str = "bob") -> None:
    """Line (id, after) from `by` came at `at`: shown, as its handler shows it, if new."""
    if key := seen.accept(by, line[0]):
        chat = Chat(line[0], by, "alice", "hi", after=line[1])
        seen.show(chat, key, Print(f"{by} {line[0]}"), at, out.append)


def lines(out: list[Action]) -> list[str]:
    return [a.text for a in out if isinstance(a, Print)]


def test_a_line_waits_for_the_one_its_sender_names_before_it_then_all_go_in_order() -> None:
    seen, out = inbox(), list[Action]()
    came(seen, ("b-3", "b-2"), 0.0, out)
    came(seen, ("c-7", "c-6"), 0.0, out, by="carol")  # another sender's: on its own
    came(seen, ("b-2", "b-1"), 0.1, out)
    came(seen, ("b-3", "b-2"), 0.2, out)  # a copy: nothing
    assert lines(out) == [] and seen.next_wake() == HOLD
    came(seen, ("b-1", ""), 0.3, out)
    assert lines(out) == ["bob b-1", "bob b-2", "bob b-3"]
    came(seen, ("b-4", "b-3"), 0.4, out)  # the one it names is shown: at once
    assert lines(out)[-1] == "bob b-4"
    assert seen.next_wake() == HOLD  # carol's still waits


def test_a_line_waits_hold_seconds_at_most_with_those_waiting_for_it() -> None:
    seen, out = inbox(), list[Action]()
    came(seen, ("b-3", "b-2"), 1.0, out)
    came(seen, ("b-2", "b-1"), 2.0, out)  # itself waiting: b-3 goes after it
    came(seen, ("b-5", "b-4"), 3.0, out)
    seen.tick(1.0 + HOLD - 0.01, out.append)
    assert lines(out) == []
    seen.tick(1.0 + HOLD, out.append)  # b-1 is late: what waited for it goes, in order
    assert lines(out) == ["bob b-2", "bob b-3"] and seen.next_wake() == 3.0 + HOLD
    came(seen, ("b-1", ""), 7.0, out)  # late, it is shown all the same
    came(seen, ("b-4", "b-3"), 7.0, out)
    assert lines(out) == ["bob b-2", "bob b-3", "bob b-1", "bob b-4", "bob b-5"]
    assert seen.next_wake() is None


@given(order=st.permutations(range(8)), late=st.sets(st.integers(0, 7), max_size=2))
def test_lines_in_any_order_are_shown_in_the_order_sent_once_each(
    order: list[int], late: set[int]
) -> None:
    # each line names the one before it (all on their way at once); those in `late` come
    # again, as copies, after the rest
    seen, out = inbox(), list[Action]()
    sent = [(f"b-{n}", f"b-{n - 1}" if n else "") for n in range(8)]
    for at, n in enumerate([*order, *sorted(late)]):
        came(seen, sent[n], at * 0.1, out)
    assert lines(out) == [f"bob b-{n}" for n in range(8)]
    assert seen.next_wake() is None


def test_lines_naming_each_other_are_shown_once_their_wait_is_over() -> None:
    seen, out = inbox(), list[Action]()
    for line in (("b-1", "b-2"), ("b-2", "b-3"), ("b-3", "b-1")):  # no sender of ours does
        came(seen, line, 0.0, out)
    seen.tick(HOLD, out.append)
    assert sorted(lines(out)) == ["bob b-1", "bob b-2", "bob b-3"]
    assert seen.next_wake() is None


def mailed(seen: Inbox, line: tuple[str, str], at: float, out: list[Action]) -> None:
    """Message (id, after) from bob, in the mailbox handed over at `at`: shown, if new, as
    Registering shows it (its Shown kept apart, once the line is on the screen)."""
    if seen.unseen("bob", line[0]):
        stored = StoredMessage(line[0], "bob", "hi", "2026-11-21 10:00:00", "direct", after=line[1])
        seen.mailed(stored, Print(f"bob {line[0]}"), at, out.append, out.append)


def test_mail_stored_out_of_order_is_shown_in_the_order_sent_and_kept_so() -> None:
    seen, out = inbox(), list[Action]()
    for line in (("b-4", "b-3"), ("b-3", "b-2"), ("b-1", ""), ("b-2", "b-1")):
        mailed(seen, line, 0.0, out)
    assert lines(out) == ["bob b-1", "bob b-2", "bob b-3", "bob b-4"]
    # b-4 and b-3 were held (kept), then each named shown before it is printed
    [first, second] = [a for a in out if isinstance(a, Held)]
    assert (first.key, first.after, second.key) == (("bob", "b-4"), "b-3", ("bob", "b-3"))
    shown = [a.shown for a in out if isinstance(a, Shown)]
    assert sorted(shown) == sorted([(("bob", f"b-{n}"),) for n in range(1, 5)])
    mailed(seen, ("b-3", "b-2"), 1.0, out)  # handed over again: not shown twice
    assert len(lines(out)) == 4 and seen.next_wake() is None


def test_mail_waits_hold_seconds_at_most_for_a_line_that_never_comes_or_comes_live() -> None:
    seen, out = inbox((("bob", "b-4"),)), list[Action]()
    mailed(seen, ("b-2", "b-1"), 0.0, out)  # b-1 was refused: never comes
    mailed(seen, ("b-6", "b-5"), 0.0, out)  # b-5 was still on its way: it comes live
    assert lines(out) == []
    came(seen, ("b-5", "b-4"), 1.0, out)
    assert lines(out) == ["bob b-5", "bob b-6"]
    seen.tick(HOLD - 0.01, out.append)
    assert lines(out) == ["bob b-5", "bob b-6"]
    seen.tick(HOLD, out.append)
    assert lines(out) == ["bob b-5", "bob b-6", "bob b-2"] and seen.next_wake() is None
