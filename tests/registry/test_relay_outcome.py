"""A channel or room post's outcome (`Relayed`): the registry tells its sender once the
relay has ended, every other member having acked it or having it in their mailbox, on disk
(or, in a room, having been given up on). Until then the sender keeps the post, so that a
registry killed mid-relay loses nothing."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.table import Table
from tests.registry.core_helpers import T0, X, Y, Z, core, in_room, register, run_until, sends
from wire.messages import (
    Ack,
    Acks,
    ChannelMessage,
    ChannelPost,
    Deregister,
    Relayed,
    Restarted,
    RoomMessage,
    RoomPost,
)


def outcomes(actions: list[ra.Action]) -> list[tuple[tuple[str, int], str]]:
    """(address, post id) of every Relayed the actions send."""
    return [(a, m.reply_to) for a, m in sends(actions) if isinstance(m, Relayed)]


def test_the_outcome_comes_once_the_last_member_has_acked() -> None:
    reg = core()
    wx = register(reg, "x", X)
    register(reg, "y", Y)
    register(reg, "z", Z)
    out = reg.receive(ChannelPost("x-1", "x", wx.token, "all"), X, T0)
    assert isinstance(sends(out)[-1][1], Ack) and outcomes(out) == []
    assert outcomes(reg.receive(Ack("y-1", "x-1"), Y, T0 + 0.01)) == []
    out = reg.receive(Acks("z-1", ("x-1",)), Z, T0 + 0.02)
    assert outcomes(out) == [(X, "x-1")]
    assert outcomes(reg.receive(Ack("z-2", "x-1"), Z, T0 + 0.03)) == []  # a copy: nothing more


def test_a_member_that_never_acks_has_it_in_its_mailbox_before_the_outcome_leaves() -> None:
    reg = core()
    wx = register(reg, "x", X)
    register(reg, "y", Y)
    reg.receive(ChannelPost("x-1", "x", wx.token, "all"), X, T0)
    out = run_until(reg, T0 + 10)  # y is silent: retried, given up, marked offline
    stored = [i for i, a in enumerate(out) if isinstance(a, ra.StoreMail) and a.owner == "y"]
    told = [
        i
        for i, a in enumerate(out)
        if isinstance(a, ra.Send) and isinstance(a.message, Relayed) and a.addr == X
    ]
    assert len(stored) == 1 and len(told) == 1 and stored[0] < told[0]  # see actions.py
    assert [m.text for m in reg.mail["y"]] == ["all"]


def test_with_nobody_else_online_the_outcome_follows_the_ack_and_the_mailbox_writes() -> None:
    reg = core()
    wx = register(reg, "x", X)
    wy = register(reg, "y", Y)
    reg.receive(Deregister("y-d", "y", wy.token, False, ""), Y, T0)
    out = reg.receive(ChannelPost("x-1", "x", wx.token, "all"), X, T0)
    kinds = [type(a.message).__name__ if isinstance(a, ra.Send) else type(a).__name__ for a in out]
    assert kinds.index("StoreMail") < kinds.index("Ack") < kinds.index("Relayed")
    assert outcomes(out) == [(X, "x-1")]


def test_asked_again_it_is_relayed_once_and_its_outcome_said_again_once_over() -> None:
    reg = core()
    wx = register(reg, "x", X)
    register(reg, "y", Y)
    post = ChannelPost("x-1", "x", wx.token, "all")
    reg.receive(post, X, T0)
    out = reg.receive(post, X, T0 + 0.5)  # while y's ack is still to come: only acked
    assert [type(m) for _, m in sends(out)] == [Ack]
    reg.receive(Ack("y-1", "x-1"), Y, T0 + 0.6)
    out = reg.receive(post, X, T0 + 11)  # its outcome was lost: acked and told again
    assert [type(m) for _, m in sends(out)] == [Ack, Relayed]
    assert not any(isinstance(m, ChannelMessage) for _, m in sends(out))


def test_a_registry_restarted_mid_relay_relays_the_post_asked_again() -> None:
    """The relay lived in the old registry's memory: the sender asks again (it has had
    no outcome), and the new one relays to every member; one that has it shows it once
    (peers keep the ids they have shown)."""
    reg = core()
    wx = register(reg, "x", X)
    register(reg, "y", Y)
    post = ChannelPost("x-1", "x", wx.token, "all")
    reg.receive(post, X, T0)
    again = core(table=Table.from_json(reg.table.to_json(), T0 + 1))
    out = again.receive(post, X, T0 + 11)
    assert [a for a, m in sends(out) if isinstance(m, ChannelMessage)] == [Y]
    assert outcomes(again.receive(Ack("y-1", "x-1"), Y, T0 + 11.1)) == [(X, "x-1")]


def test_a_restarted_registry_takes_posts_from_a_peer_once_it_acked_the_news() -> None:
    """Sent before it knew, a post could overtake those the old registry acked and died
    before relaying, which the peer sends again, in order, once told."""
    reg = core()
    wx = register(reg, "x", X)
    register(reg, "y", Y)
    again = core(table=Table.from_json(reg.table.to_json(), T0 + 1))
    [news] = [m for a, m in sends(again.start(T0 + 1)) if a == X and isinstance(m, Restarted)]
    post = ChannelPost("x-2", "x", wx.token, "later")
    assert sends(again.receive(post, X, T0 + 1.1)) == []  # dropped: x sends it again
    again.receive(Ack("x-3", news.id), X, T0 + 1.2)
    out = again.receive(post, X, T0 + 1.3)
    assert [a for a, m in sends(out) if isinstance(m, ChannelMessage)] == [Y]


def test_the_outcome_waits_for_a_push_found_lost_and_sent_again() -> None:
    reg = core()
    wx = register(reg, "x", X)
    register(reg, "y", Y)
    for i in range(3):  # at moments apart, each a datagram of its own
        reg.receive(ChannelPost(f"x-{i}", "x", wx.token, f"all {i}"), X, T0 + i * 0.01)
    out = reg.receive(Acks("y-1", ("x-1", "x-2")), Y, T0 + 0.1)  # y reads in order: x-0 lost
    assert outcomes(out) == [(X, "x-1"), (X, "x-2")]
    out = run_until(reg, T0 + 0.1)
    assert [m.id for _, m in sends(out) if isinstance(m, ChannelMessage)] == ["x-0"]  # at once
    assert outcomes(reg.receive(Ack("y-2", "x-0"), Y, T0 + 0.2)) == [(X, "x-0")]


def test_a_sender_that_deregistered_is_told_too() -> None:
    """It still runs, and waits for the outcome: without it, it would ask again in vain
    (refused, as offline) and be told its message was not confirmed."""
    reg = core()
    wx = register(reg, "x", X)
    register(reg, "y", Y)
    reg.receive(ChannelPost("x-1", "x", wx.token, "all"), X, T0)
    reg.receive(Deregister("x-d", "x", wx.token, False, ""), X, T0 + 0.01)
    assert outcomes(reg.receive(Ack("y-1", "x-1"), Y, T0 + 0.02)) == [(X, "x-1")]


def test_a_room_line_has_its_outcome_once_every_other_member_has_acked() -> None:
    reg = core()
    tokens = in_room(reg, "lobby", ("x", X), ("y", Y), ("z", Z))
    out = reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "hi"), X, T0 + 1)
    relayed_to = sorted(a for a, m in sends(out) if isinstance(m, RoomMessage))
    assert relayed_to == [Y, Z] and outcomes(out) == []
    assert outcomes(reg.receive(Ack("y-1", "x-1"), Y, T0 + 1.01)) == []
    assert outcomes(reg.receive(Ack("z-1", "x-1"), Z, T0 + 1.02)) == [(X, "x-1")]
    # asked again (the outcome was lost): acked and told again, not said again
    out = reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "hi"), X, T0 + 11)
    assert [type(m) for _, m in sends(out)] == [Ack, Relayed]


def test_a_room_line_has_its_outcome_once_a_silent_member_is_given_up_on() -> None:
    reg = core()
    tokens = in_room(reg, "lobby", ("x", X), ("y", Y))
    reg.receive(RoomPost("x-1", "x", tokens["x"], "lobby", "hi"), X, T0 + 1)
    out = run_until(reg, T0 + 10)  # y never acks: marked offline, out of the room
    assert outcomes(out) == [(X, "x-1")]
    y = reg.table.get("y")
    assert y is not None and not y.online and y.room == ""


def test_a_registry_restarted_mid_relay_says_the_room_line_asked_again() -> None:
    """Who is in which room survives the restart (the table file): the line asked again
    is said to the room again, and a member that has it shows it once (by its id)."""
    reg = core()
    tokens = in_room(reg, "lobby", ("x", X), ("y", Y))
    post = RoomPost("x-1", "x", tokens["x"], "lobby", "hi")
    reg.receive(post, X, T0 + 1)
    again = core(table=Table.from_json(reg.table.to_json(), T0 + 2))
    out = again.receive(post, X, T0 + 11)
    assert [(a, m.id) for a, m in sends(out) if isinstance(m, RoomMessage)] == [(Y, "x-1")]
    assert outcomes(again.receive(Ack("y-1", "x-1"), Y, T0 + 11.1)) == [(X, "x-1")]
