"""A `reg` typed offline that the registry does not answer goes on, quietly, a round of
tries every keepalive period, until the registry answers it;
meanwhile typed lines say so, and `dereg` or `/quit` stops it."""

from __future__ import annotations

import itertools

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.registration import WELCOME
from peer.core.request_ends import SERVER_NOT_RESPONDING
from tests.peer.core_kit import SERVER, T0, prints, registered, run_until, sent
from tests.peer.honest import REGISTRY_KEY
from wire.messages import Ack, Busy, Register, Welcome

#: The longest a registry back waits for a copy of a `reg` going on: a round's last copy
#: 5.5 s after its first, the next round a keepalive period (10 s) after that first.
LONGEST_GAP = 4.5


def offline_reg_unanswered() -> tuple[PeerCore, list[pa.Action]]:
    """alice deregistered, then typed `reg alice` as the registry went away."""
    core, _ = registered()
    [dereg] = sent(core.line("dereg alice", T0))
    core.receive(Ack("r-2", dereg.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    [register] = sent(core.line("reg alice", T0 + 1))
    assert isinstance(register, Register)
    return core, run_until(core, T0 + 30)


def register_copies(core: PeerCore, end: float) -> list[tuple[float, Register]]:
    """When each copy of a registration goes until `end`, and which."""
    copies = []
    while (wake := core.next_wake()) is not None and wake <= end:
        copies += [(wake, a.message) for a in core.tick(wake) if isinstance(a, pa.SendSealed)]
    return [(at, m) for at, m in copies if isinstance(m, Register)]


def test_a_reg_unanswered_goes_on_every_few_seconds_until_the_registry_answers() -> None:
    core, out = offline_reg_unanswered()
    assert prints(out).count(SERVER_NOT_RESPONDING) == 1
    copies = register_copies(core, T0 + 600)
    times = [T0 + 30, *(at for at, _ in copies)]
    assert max(b - a for a, b in itertools.pairwise(times)) <= LONGEST_GAP
    assert T0 + 600 - times[-1] <= LONGEST_GAP
    welcome = Welcome("r-3", copies[-1][1].id, "alice", "tok", 3, (), (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0 + 601)
    assert prints(out)[:2] == ["[Server is back.]", WELCOME]
    assert not register_copies(core, T0 + 800)


def test_lines_typed_while_a_reg_goes_on_are_not_held_and_say_so() -> None:
    core, _ = offline_reg_unanswered()
    register_copies(core, T0 + 41)
    assert core.parts.shared.requests.any_of(Register)  # a copy is on its way
    assert prints(core.line("send bob hi", T0 + 41)) == [
        "[You are offline. Type dereg alice to stop the reg waiting, or /quit.]"
    ]


def test_dereg_stops_it_and_quit_exits() -> None:
    core, _ = offline_reg_unanswered()
    out = core.line("dereg alice", T0 + 31)  # at once, with a copy on its way
    assert prints(out) == ["[Your reg is tried no more.]"]
    assert not register_copies(core, T0 + 300)
    core, _ = offline_reg_unanswered()
    assert pa.ExitPeer(0) in core.line("/quit", T0 + 31) + run_until(core, T0 + 60)


def test_dereg_stops_a_reg_waiting_after_a_busy() -> None:
    """A `reg` the registry answered Busy waits out of flight: `dereg` stopped only those
    in flight, said "[You are already offline.]", and the reg went again after its wait."""
    core, _ = registered()
    [dereg] = sent(core.line("dereg alice", T0))
    core.receive(Ack("r-2", dereg.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    [register] = sent(core.line("reg alice", T0 + 1))
    assert isinstance(register, Register)
    out = core.receive(Busy("r-3", register.id, 5000), SERVER, REGISTRY_KEY, T0 + 1.1)
    assert prints(out) == ["[The registry is busy; trying again in 5.0 s.]"]
    # meanwhile a line typed tells how to stop the reg waiting, not to type `reg` again
    assert prints(core.line("send bob hi", T0 + 1.5)) == [
        "[You are offline. Type dereg alice to stop the reg waiting, or /quit.]"
    ]
    assert prints(core.line("dereg alice", T0 + 2)) == ["[Your reg is tried no more.]"]
    assert not register_copies(core, T0 + 300)
