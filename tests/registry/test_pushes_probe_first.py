"""A lossy network takes nobody offline: a channel message, a direct message the registry
delivers itself, or a room line that goes unacked in all its tries is sent again while its
peer is probed, and the peer is marked offline (out of its room, the message in its
mailbox) only when nothing at all came from it since the push was first sent. Table changes
and outcomes are only dropped."""

from __future__ import annotations

from collections.abc import Callable

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from tests.registry.core_helpers import PROBE, ROUND, T0, X, Y, Z, core, in_room, register, sends
from wire.messages import (
    Ack,
    ChannelMessage,
    ChannelPost,
    Chat,
    Keepalive,
    RoomNotice,
    Saved,
    SaveMessage,
    TableUpdate,
)
from wire.reliable import ATTEMPTS, TIMEOUT

Addr = tuple[str, int]
Lost = Callable[[Addr, object], bool]
Sent = list[tuple[Addr, object]]


def run(reg: RegistryCore, end: float, lost: Lost) -> Sent:
    """Run the registry to `end`, every peer acking each push as it comes but for those
    `lost(address, message)` says are lost (or whose acks are): what it sent."""
    sent: Sent = []
    while (wake := reg.next_wake()) is not None and wake <= end:
        for addr, message in sends(reg.tick(wake)):
            sent.append((addr, message))
            if not lost(addr, message):
                reg.receive(Ack(f"a-{len(sent)}", message.id), addr, wake)  # type: ignore[attr-defined]
    return sent


def nothing_lost(addr: Addr, message: object) -> bool:
    return False


def is_ping(message: object) -> bool:
    return isinstance(message, TableUpdate) and not message.version


def to_x(sent: Sent, kind: type) -> list[object]:
    return [m for addr, m in sent if addr == X and isinstance(m, kind)]


def three_in_r() -> tuple[RegistryCore, dict[str, str]]:
    """x, y and z in room r, everything pushed so far acked."""
    reg = core()
    tokens = in_room(reg, "r", ("x", X), ("y", Y), ("z", Z))
    run(reg, T0 + 0.6, nothing_lost)
    return reg, tokens


def members(reg: RegistryCore) -> list[str]:
    room = reg.rooms.get("r")
    return [] if room is None else [m.name for m in room.members]


def test_a_channel_message_whose_acks_are_lost_is_sent_again_while_its_peer_is_probed() -> None:
    reg, tokens = three_in_r()
    reg.receive(ChannelPost("y-1", "y", tokens["y"], "to all"), Y, T0 + 1)

    def relays_to_x_lost(addr: Addr, message: object) -> bool:
        return addr == X and isinstance(message, ChannelMessage)

    sent = run(
        reg, T0 + 1 + ROUND + 0.1, relays_to_x_lost
    )  # four more copies, then again and a probe
    assert (
        len(to_x(sent, ChannelMessage)) == 5
        and len([m for m in to_x(sent, TableUpdate) if is_ping(m)]) == 1
    )
    assert reg.table.get("x").online and members(reg) == ["x", "y", "z"]  # type: ignore[union-attr]
    sent = run(reg, T0 + 20, nothing_lost)  # its next copy is acked
    assert [m.text for m in to_x(sent, ChannelMessage)] == ["to all"]  # type: ignore[attr-defined]
    assert reg.table.get("x").online and members(reg) == ["x", "y", "z"]  # type: ignore[union-attr]
    assert "x" not in reg.mail  # delivered live, not kept for later


def test_a_peer_heard_from_in_anything_meanwhile_stays_online_though_its_probe_is_lost() -> None:
    reg, tokens = three_in_r()
    reg.receive(ChannelPost("y-1", "y", tokens["y"], "to all"), Y, T0 + 1)

    def x_hears_nothing(addr: Addr, message: object) -> bool:
        return addr == X

    run(reg, T0 + 1 + ROUND + 0.1, x_hears_nothing)  # the relay's tries are over, the probe begun
    # x's keepalive comes through (its acks do not): it runs
    out = reg.receive(Keepalive("x-50", "x", tokens["x"]), X, T0 + 1 + ROUND + 0.2)
    assert any(a == X for a, _ in sends(out))
    out = run(reg, T0 + 1 + ROUND + 2 * TIMEOUT, x_hears_nothing)
    assert reg.table.get("x").online and members(reg) == ["x", "y", "z"]  # type: ignore[union-attr]
    assert "x" not in reg.mail
    assert to_x(out, ChannelMessage)  # still sent, until acked or x is gone


def test_a_peer_that_answers_nothing_is_marked_offline_and_gets_the_message_in_its_mailbox() -> (
    None
):
    reg, tokens = three_in_r()
    reg.receive(ChannelPost("y-1", "y", tokens["y"], "to all"), Y, T0 + 1)

    def x_gone(addr: Addr, message: object) -> bool:
        return addr == X

    run(reg, T0 + 1 + ROUND + PROBE - 0.1, x_gone)  # the relay's tries, then the probe's
    assert reg.table.get("x").online and "x" not in reg.mail  # type: ignore[union-attr]
    sent = run(reg, T0 + 1 + ROUND + PROBE + 0.1, x_gone)
    assert not reg.table.get("x").online and members(reg) == ["y", "z"]  # type: ignore[union-attr]
    assert [(m.text, m.kind) for m in reg.mail["x"]] == [("to all", "channel")]
    notices = [m.text for a, m in sent if a == Z and isinstance(m, RoomNotice)]
    assert notices == ["x left r (not answering)"]


def test_the_mailbox_keeps_the_order_of_channel_messages_sent_again() -> None:
    reg, tokens = three_in_r()
    for k in range(3):
        reg.receive(ChannelPost(f"y-{k}", "y", tokens["y"], f"all {k}"), Y, T0 + 1 + k)

    def x_gone_after_the_first(addr: Addr, message: object) -> bool:
        return addr == X and getattr(message, "text", "") != "all 0"

    run(reg, T0 + 12, x_gone_after_the_first)
    assert not reg.table.get("x").online  # type: ignore[union-attr]
    assert [m.text for m in reg.mail["x"]] == ["all 1", "all 2"]


def test_a_direct_message_the_registry_delivers_is_sent_again_while_its_peer_is_probed() -> None:
    reg, tokens = three_in_r()
    reg.receive(SaveMessage("y-7", "y", tokens["y"], "x", "hi"), Y, T0 + 1)

    def chats_to_x_lost(addr: Addr, message: object) -> bool:
        return addr == X and isinstance(message, Chat)

    sent = run(reg, T0 + 1 + ROUND + 2 * TIMEOUT, chats_to_x_lost)
    assert (
        len(to_x(sent, Chat)) == ATTEMPTS + 2
    )  # its tries, then again while the probe is answered
    assert reg.table.get("x").online and "x" not in reg.mail  # type: ignore[union-attr]
    assert not [m for a, m in sent if a == Y and isinstance(m, Saved)]  # no outcome yet
    sent = run(reg, T0 + 20, nothing_lost)
    [saved] = [m for a, m in sent if a == Y and isinstance(m, Saved)]
    assert saved.delivered and "x" not in reg.mail


def test_table_changes_unacked_are_dropped_and_probe_nobody() -> None:
    reg, _ = three_in_r()
    register(reg, "w", ("127.0.0.1", 6004))  # a table change pushed to x, y and z

    def x_gone(addr: Addr, message: object) -> bool:
        return addr == X

    sent = run(reg, T0 + 10, x_gone)
    assert not [m for m in to_x(sent, TableUpdate) if is_ping(m)]
    assert to_x(sent, TableUpdate)  # sent again, then dropped
    assert reg.table.get("x").online  # type: ignore[union-attr]


def test_a_peer_found_gone_is_not_sent_the_push_again_as_the_probe_ends() -> None:
    reg, tokens = three_in_r()
    reg.receive(ChannelPost("y-1", "y", tokens["y"], "to all"), Y, T0 + 1)
    times: list[float] = []
    while (wake := reg.next_wake()) is not None and wake <= T0 + 6:
        out = reg.tick(wake)
        for addr, message in sends(out):
            if addr == X and isinstance(message, ChannelMessage):
                times.append(round(wake - T0 - 1, 3))
            elif addr != X:
                reg.receive(Ack(f"a-{wake}", message.id), addr, wake)  # type: ignore[attr-defined]
        if any(isinstance(a, ra.StoreMail) for a in out):
            break
    # its tries, then again while the probe runs, and none as the probe ends
    copies = 2 * ATTEMPTS - 1
    assert times == [round(k * TIMEOUT, 3) for k in range(1, copies + 1)]
    assert round(wake - T0 - 1, 3) == round(ROUND + PROBE, 3)
