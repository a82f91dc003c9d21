"""registry/core/presence.py and registry/core/posts.py alone: peers coming and going, and what
becomes of what was pushed to them."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.requests import Request
from tests.registry.parts_helpers import T0, TOKEN, claimed, logs, parts, record, sent
from wire.messages import Ack, Alive, ChannelMessage, Deregister, Keepalive, Notice, Refused


def test_a_keepalive_is_answered_alive_and_one_given_up_on_is_told() -> None:
    p = parts()
    bob = record(p.s, "bob", 7002)
    out: list[ra.Action] = []
    claimed(
        p.s,
        p.presence.keepalive,
        Keepalive("bob-k", "bob", TOKEN),
        Request("bob-k", bob.addr),
        T0 + 5,
        out.append,
    )
    assert isinstance(sent(out)[0][1], Alive) and bob.last_seen == T0 + 5
    bob.online = False
    gone: list[ra.Action] = []
    claimed(
        p.s,
        p.presence.keepalive,
        Keepalive("bob-k2", "bob", TOKEN),
        Request("bob-k2", bob.addr),
        T0,
        gone.append,
    )
    [(_, refused)] = sent(gone)
    assert isinstance(refused, Refused) and refused.reason == "You are not registered."


def test_a_peer_that_quits_is_offline_and_everyone_hears_its_farewell() -> None:
    p = parts()
    alice, bob = record(p.s, "alice", 7001), record(p.s, "bob", 7002)
    out: list[ra.Action] = []
    msg = Deregister("bob-d", "bob", TOKEN, True, "bye")
    claimed(p.s, p.presence.deregister, msg, Request(msg.id, bob.addr), T0, out.append)
    assert not bob.online and bob.deregistered
    notices = [(addr, m.text) for addr, m in sent(out) if isinstance(m, Notice)]
    assert notices == [(alice.addr, "bob has quit (bye)")]
    assert isinstance(sent(out)[-1][1], Ack) and "deregistered bob" in logs(out)


def test_a_peer_found_silent_leaves_what_was_pushed_to_it_in_its_mailbox() -> None:
    p = parts()
    bob = record(p.s, "bob", 7002)
    p.s.pushes.push((bob,), ChannelMessage("c-1", "carol", "all"), "relay", T0, [].append)
    out: list[ra.Action] = []
    p.presence.silent(bob, T0 + 40, out.append)
    assert not bob.online and "bob silent for 40 s; offline" in logs(out)[0]
    assert [m.id for m in p.post.boxes["bob"]] == ["c-1"] and sum(p.s.pushes.counts()) == 0


def test_another_name_registering_at_an_address_takes_it_over() -> None:
    p = parts()
    bob = record(p.s, "bob", 7002)
    newcomer = record(p.s, "zed", 7002, online=False)
    out: list[ra.Action] = []
    p.presence.take_over(bob.addr, newcomer, T0, out.append)
    assert not bob.online and "bob offline: zed registered at its address" in logs(out)


def test_an_unacked_relay_starts_over_while_its_peer_is_probed() -> None:
    p = parts()
    bob = record(p.s, "bob", 7002)
    p.s.pushes.push((bob,), ChannelMessage("c-1", "carol", "all"), "relay", T0, [].append)
    now, failed = T0, []
    while not failed:  # every copy unacked
        now += 0.5
        failed = p.s.pushes.retry(now, [].append)
    out: list[ra.Action] = []
    p.posts.failed(failed, now, out.append)
    assert p.liveness.probing(bob) and sum(p.s.pushes.counts()) == 1 and "bob" not in p.post.boxes
