"""Who stays in a room: a member is taken out when it leaves, restarts (a new process, told
by the session its ids carry) or answers nothing at all; a room line whose acks were lost
is sent again until it is acked, not taken for a member gone."""

from __future__ import annotations

from collections.abc import Callable

from registry.core.dispatch import RegistryCore
from tests.registry.core_helpers import PROBE, ROUND, T0, X, Y, core, in_room, sends
from wire.messages import (
    Ack,
    ChannelPost,
    Deregister,
    Register,
    RoomMessage,
    RoomNotice,
    RoomPost,
    TableUpdate,
    Welcome,
)
from wire.version import WIRE_VERSION

Deaf = Callable[[tuple[str, int], object], bool]


def members(reg: RegistryCore) -> list[str]:
    room = reg.rooms.get("r")
    return [] if room is None else [m.name for m in room.members]


def run(reg: RegistryCore, end: float, deaf: Deaf) -> list[tuple[tuple[str, int], object]]:
    """Run the registry to `end`, x and y acking each push as it comes, but for those
    `deaf(address, message)` says are lost (or whose acks are): what it sent x and y.
    Pushes of before (the join's notices) are acked as they come again."""
    sent = []
    while (wake := reg.next_wake()) is not None and wake <= end:
        for addr, message in sends(reg.tick(wake)):
            sent.append((addr, message))
            if not deaf(addr, message):
                reg.receive(Ack(f"a-{len(sent)}", message.id), addr, wake)  # type: ignore[attr-defined]
    return sent


def lines_to_x(sent: list[tuple[tuple[str, int], object]]) -> list[str]:
    return [m.text for addr, m in sent if addr == X and isinstance(m, RoomMessage)]


def pings_to_x(sent: list[tuple[tuple[str, int], object]]) -> list[TableUpdate]:
    return [m for addr, m in sent if addr == X and isinstance(m, TableUpdate) and not m.version]


def x_in_r_with_y() -> tuple[RegistryCore, dict[str, str]]:
    reg = core()
    tokens = in_room(reg, "r", ("x", X), ("y", Y))
    run(reg, T0 + 0.6, lambda addr, m: False)  # the join's notices come again, and are acked
    return reg, tokens


def test_a_member_whose_acks_are_lost_but_answers_a_probe_gets_the_line_again() -> None:
    reg, tokens = x_in_r_with_y()
    reg.receive(RoomPost("y-1", "y", tokens["y"], "r", "hi"), Y, T0 + 1)

    def lines_lost(addr: tuple[str, int], message: object) -> bool:
        return isinstance(message, RoomMessage)

    sent = run(
        reg, T0 + 1 + ROUND + 0.1, lines_lost
    )  # four more copies, then a fresh start and a probe
    assert lines_to_x(sent) == ["hi"] * 5 and len(pings_to_x(sent)) == 1
    assert members(reg) == ["x", "y"]
    sent = run(reg, T0 + 20, lambda addr, m: False)  # its next copy is acked
    assert lines_to_x(sent) == ["hi"] and not pings_to_x(sent)
    assert members(reg) == ["x", "y"] and reg.table.get("x").online  # type: ignore[union-attr]


def test_a_member_heard_from_while_its_line_was_retried_is_sent_it_until_it_acks() -> None:
    reg, tokens = x_in_r_with_y()
    reg.receive(RoomPost("y-1", "y", tokens["y"], "r", "one"), Y, T0 + 1)

    def one_and_pings_lost(addr: tuple[str, int], message: object) -> bool:
        text = getattr(message, "text", "")
        return text == "one" or (isinstance(message, TableUpdate) and not message.version)

    # x acks the other lines, but neither "one" nor the probes: it runs, and is sent "one"
    for k in range(20):
        reg.receive(RoomPost(f"y-{k + 2}", "y", tokens["y"], "r", f"more {k}"), Y, T0 + 1 + k)
        run(reg, T0 + 1.5 + k, one_and_pings_lost)
    sent = run(reg, T0 + 22, one_and_pings_lost)
    assert members(reg) == ["x", "y"]
    # sent until its ack, or x is gone (the lines after it wait behind it, or follow it)
    assert "one" in lines_to_x(sent)
    sent = run(reg, T0 + 40, lambda addr, m: False)
    assert "one" in lines_to_x(sent) and members(reg) == ["x", "y"]


def test_a_member_that_answers_nothing_is_taken_out_after_the_line_and_a_probe() -> None:
    reg, tokens = x_in_r_with_y()
    reg.receive(RoomPost("y-1", "y", tokens["y"], "r", "hi"), Y, T0 + 1)

    def x_gone(addr: tuple[str, int], message: object) -> bool:
        return addr == X

    run(reg, T0 + 1 + ROUND + PROBE - 0.1, x_gone)
    assert members(reg) == ["x", "y"]
    sent = run(reg, T0 + 1 + ROUND + PROBE + 0.1, x_gone)
    assert members(reg) == ["y"] and not reg.table.get("x").online  # type: ignore[union-attr]
    notices = [m.text for addr, m in sent if addr == Y and isinstance(m, RoomNotice)]
    assert notices == ["x left r (not answering)"]


def register_again(reg: RegistryCore, msg_id: str, token: str) -> list[str]:
    """x registers again with `msg_id`: the room notices y gets."""
    out = reg.receive(Register(msg_id, "x", X[1], token, "", WIRE_VERSION), X, T0 + 1)
    return [m.text for addr, m in sends(out) if addr == Y and isinstance(m, RoomNotice)]


def test_a_registration_from_the_same_start_keeps_the_member_in_its_room() -> None:
    # (say its Welcome was lost five times, and it registered again)
    reg = core()
    tokens = in_room(reg, "r", ("x", X), ("y", Y))
    assert register_again(reg, "x-9", tokens["x"]) == []
    assert members(reg) == ["x", "y"]


def test_a_registration_from_another_start_takes_the_member_out_as_restarted() -> None:
    reg = core()
    tokens = in_room(reg, "r", ("x", X), ("y", Y))
    assert register_again(reg, "x2-1", tokens["x"]) == ["x left r (restarted)"]
    assert members(reg) == ["y"]


def test_reg_after_dereg_in_the_same_process_is_a_fresh_start() -> None:
    # deregistered, the peer answered nothing: what was pushed to it before, and not acked,
    # comes in its Welcome
    reg = core()
    tokens = in_room(reg, "r", ("x", X), ("y", Y))
    reg.receive(ChannelPost("y-1", "y", tokens["y"], "to all"), Y, T0 + 0.2)
    reg.receive(Deregister("x-5", "x", tokens["x"], False, ""), X, T0 + 0.3)
    out = reg.receive(Register("x-6", "x", X[1], tokens["x"], "", WIRE_VERSION), X, T0 + 1)
    [welcome] = [m for _, m in sends(out) if isinstance(m, Welcome)]
    assert [m.text for m in welcome.mail] == ["to all"]
