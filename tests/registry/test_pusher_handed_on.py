"""Pushes to peers another registry of a service serves (registry/core/pusher.py,
HANDED_ON): those whose give-up is only dropped are handed to that registry, which delivers
them, and are not tracked here; the others are pushed from here as ever."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.pusher import HANDED_ON, Pusher
from tests.registry.parts_helpers import record, services
from wire.messages import ChannelMessage, TableUpdate

NOW = 100.0


def test_a_table_push_to_peers_elsewhere_is_handed_on_and_forgotten() -> None:
    s = services()
    here, there = record(s, "alice", 7001), record(s, "bob", 7002)
    pusher = Pusher(0.5, 5, key_at=lambda addr: b"k" * 32)
    pusher.served_elsewhere = {there.addr}.__contains__
    out: list[ra.Action] = []
    handed = pusher.push_all([here, there], TableUpdate("u-1", 2, ()), "table", NOW, out.append)
    assert handed == {there.addr}
    delivered = [a for a in out if isinstance(a, ra.SendMany) and a.delivered]
    assert [a.addrs for a in delivered] == [(there.addr,)]
    assert [a.addr for a in out if isinstance(a, ra.Send)] == [here.addr]
    assert pusher.pending() == 1  # only alice's awaits an ack here
    again: list[ra.Action] = []
    pusher.due(NOW + 0.6, again.append)
    assert again == [ra.Send(here.addr, TableUpdate("u-1", 2, ()), b"k" * 32)]  # not bob's


def test_a_channel_message_is_pushed_from_here_wherever_its_peer_is() -> None:
    s = services()
    there = record(s, "bob", 7002)
    pusher = Pusher(0.5, 5, key_at=lambda addr: b"k" * 32)
    pusher.served_elsewhere = {there.addr}.__contains__
    out: list[ra.Action] = []
    assert "relay" not in HANDED_ON
    handed = pusher.push_all([there], ChannelMessage("c-1", "al", "hi"), "relay", NOW, out.append)
    assert not handed and pusher.pending() == 1
    assert not any(getattr(a, "delivered", False) for a in out)


def test_a_registry_alone_hands_nothing_on() -> None:
    s = services()
    alice = record(s, "alice", 7001)
    pusher = Pusher(0.5, 5, key_at=lambda addr: b"k" * 32)
    out: list[ra.Action] = []
    assert not pusher.push_all([alice], TableUpdate("u-1", 2, ()), "table", NOW, out.append)
    assert pusher.pending() == 1
