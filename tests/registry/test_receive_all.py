"""The messages of one datagram, handed to the core together (`receive_all`), are each
handled as alone: acks by their address, anything else as its own request."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from tests.registry.core_helpers import T0, X, Y, Z, core, register, run_until, sends
from wire.keys import TEXTS_KEPT, key_text
from wire.messages import Ack, Acks, ChannelPost, Keepalive, Message, Register, Relayed, Welcome
from wire.version import WIRE_VERSION


def sent(actions: list[ra.Action]) -> list[tuple[tuple[str, int], str]]:
    """(address, kind) of each message the actions send, in a fixed order: a datagram's
    outcome (Relayed) leaves at its end, and the registry's own ids differ with that."""
    return sorted((addr, type(m).__name__) for addr, m in sends(actions))


def relays_left(reg: RegistryCore, now: float) -> list[tuple[str, int]]:
    """Where the relayed posts not acked by `now` are sent again, nobody answering."""
    return [to for to, kind in sent(run_until(reg, now + 3)) if kind == "ChannelMessage"]


def relaying() -> tuple[RegistryCore, str]:
    """x, y and z registered, and x's post relayed to y and z: y's token."""
    reg = core()
    wx = register(reg, "x", X)
    wy = register(reg, "y", Y)
    register(reg, "z", Z)
    reg.receive(ChannelPost("x-1", "x", wx.token, "all"), X, T0)
    return reg, wy.token


def test_a_datagram_of_acks_and_requests_does_what_each_alone_does() -> None:
    (alone, token), (together, _) = relaying(), relaying()
    datagram: list[Message] = [
        Ack("y-1", "x-1"),
        ChannelPost("y-2", "y", token, "and another"),
        Keepalive("y-3", "y", token),
        Acks("y-4", ("nothing-of-this", "x-1")),
    ]
    now = T0 + 0.5
    one_by_one = [a for m in datagram for a in alone.receive(m, Y, now, datagram=True)]
    at_once = together.receive_all(datagram, Y, now, datagram=True)
    assert sent(at_once) == sent(one_by_one)
    assert together.table.to_json() == alone.table.to_json()
    # z acks too: x hears the post's outcome, from one datagram as from one message
    out = together.receive_all([Acks("z-1", ("x-1",))], Z, now)
    assert [(a, m.reply_to) for a, m in sends(out) if isinstance(m, Relayed)] == [(X, "x-1")]
    alone.receive_all([Acks("z-1", ("x-1",))], Z, now)
    # and what awaits an ack is the same: y's post, relayed to x and z
    left = relays_left(alone, now)
    assert relays_left(together, now) == left and set(left) == {X, Z}


def test_a_kind_no_peer_sends_is_logged_and_the_rest_handled() -> None:
    reg, _ = relaying()
    out = reg.receive_all([Relayed("y-1", "x-1"), Ack("y-2", "x-1")], Y, T0 + 0.5)
    assert any(isinstance(a, ra.Log) and a.line.startswith("ignored Relayed") for a in out)
    assert set(relays_left(reg, T0 + 0.5)) == {Z}  # y's is done; z's waits


def test_datagrams_read_together_do_what_each_alone_does() -> None:
    (alone, _), (together, _) = relaying(), relaying()
    datagrams: list[tuple[list[Message], tuple[str, int], bytes]] = [
        ([Ack("y-1", "x-1")], Y, b""),
        ([Acks("z-1", ("x-1",))], Z, b""),
    ]
    now = T0 + 0.5
    one_by_one = [a for m, at, _ in datagrams for a in alone.receive_all(m, at, now)]
    at_once = together.receive_datagrams(datagrams, now)
    assert sent(at_once) == sent(one_by_one)
    # the relay's end is told once, after the datagram that ended it
    assert [(a, m.reply_to) for a, m in sends(at_once) if isinstance(m, Relayed)] == [(X, "x-1")]
    assert relays_left(together, now) == relays_left(alone, now) == []


def test_a_peer_is_heard_by_its_key_after_datagrams_sealed_by_many_other_keys() -> None:
    """What names the key of each datagram, kept for TEXTS_KEPT keys, still names it once
    more keys than that sealed datagrams: the peer's own datagram proves it runs."""
    reg = core()
    alice = bytes(range(32))
    out = reg.receive(Register("a-reg", "alice", X[1], "", "", WIRE_VERSION), X, T0, key=alice)
    assert any(isinstance(m, Welcome) for _, m in sends(out))
    others = [((), Y, n.to_bytes(32, "big")) for n in range(1, TEXTS_KEPT + 2)]
    reg.receive_datagrams([((), X, alice), *others], T0 + 1)
    reg.receive_datagrams([((), X, alice)], T0 + 2)
    record = reg.table.get("alice")
    assert record is not None and record.key == key_text(alice) and record.last_seen == T0 + 2
    reg.receive_datagrams([((), X, bytes(32))], T0 + 3)  # another key there: not alice's peer
    assert record.last_seen == T0 + 2
