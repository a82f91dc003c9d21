"""The Inbox alone: each (sender, id) is shown once, only the last `limit` are kept, and
every copy taken with an address is acked there, unless the peer is deregistered."""

from __future__ import annotations

from peer.core.actions import Action, Send, Shown
from peer.core.held_acks import HeldAcks
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
    return Inbox(life, new_id, HeldAcks(new_id), shown, limit)


def test_a_first_sight_is_recorded_and_a_second_is_not_new() -> None:
    seen, out = inbox(), list[Action]()
    assert seen.accept("Bob", "b-1", None, out.append)
    assert out == [Shown((("bob", "b-1"),))]  # the sender as its key: names ignore case
    assert not seen.accept("BOB", "b-1", None, out.append)
    assert out == [Shown((("bob", "b-1"),))]


def test_the_ids_of_earlier_runs_are_not_new() -> None:
    seen, out = inbox((("Bob", "b-1"),)), list[Action]()
    assert not seen.accept("bob", "b-1", None, out.append)
    assert seen.accept("bob", "b-2", None, out.append)


def test_only_the_last_limit_ids_are_remembered() -> None:
    seen, out = inbox((("bob", "b-1"), ("bob", "b-2")), limit=2), list[Action]()
    assert seen.accept("bob", "b-3", None, out.append)  # pushes out the oldest, b-1
    assert not seen.accept("bob", "b-2", None, out.append)
    assert seen.accept("bob", "b-1", None, out.append)


def test_every_copy_taken_with_an_address_is_acked_there_once_the_event_ends() -> None:
    seen, out = inbox(), list[Action]()
    assert seen.accept("bob", "b-1", BOB, out.append)
    assert not seen.accept("bob", "b-1", BOB, out.append)  # a copy: acked, not shown
    assert seen.accept("bob", "b-2", BOB, out.append)
    assert seen.owed == [(BOB, "b-1"), (BOB, "b-1"), (BOB, "b-2")]
    seen.ack_owed(KEY, False, out.append)
    [ack] = [a for a in out if isinstance(a, Send)]
    assert ack.addr == BOB and ack.key == KEY
    assert isinstance(ack.message, Acks) and ack.message.replies == ("b-1", "b-1", "b-2")
    assert seen.owed == []


def test_a_deregistered_peer_takes_nothing_it_would_ack() -> None:
    life = Lifecycle()
    new_id = IdMaker("a")
    seen, out = Inbox(life, new_id, HeldAcks(new_id)), list[Action]()
    assert not seen.accept("bob", "b-1", BOB, out.append)
    assert out == [] and seen.owed == []
    assert seen.accept("bob", "b-1", None, out.append)  # an answer's: shown
    seen.ack_owed(KEY, False, out.append)
    assert not any(isinstance(a, Send) and isinstance(a.message, Ack) for a in out)
