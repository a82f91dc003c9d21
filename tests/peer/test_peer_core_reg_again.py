"""A `reg` typed offline that the registry does not answer is asked again with the probes
(10, 20, 40 s apart), quietly, until the registry answers it; `dereg` or `/quit` stops it."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.registration import WELCOME
from peer.core.request_ends import SERVER_NOT_RESPONDING
from tests.peer.honest import REGISTRY_KEY
from tests.peer.test_peer_core import SERVER, T0, prints, registered, run_until, sent
from wire.messages import Ack, Register, Welcome


def offline_reg_unanswered() -> tuple[PeerCore, list[pa.Action]]:
    """alice deregistered, then typed `reg alice` as the registry went away."""
    core, _ = registered()
    [dereg] = sent(core.line("dereg alice", T0))
    core.receive(Ack("r-2", dereg.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    [register] = sent(core.line("reg alice", T0 + 1))
    assert isinstance(register, Register)
    return core, run_until(core, T0 + 30)


def test_a_reg_unanswered_is_asked_again_with_the_probes_until_the_registry_answers() -> None:
    core, out = offline_reg_unanswered()
    assert prints(out).count(SERVER_NOT_RESPONDING) == 1
    out = run_until(core, T0 + 200)
    assert prints(out) == []  # asked again quietly
    again = [a for a in out if isinstance(a, pa.Send) and isinstance(a.message, Register)]
    starts = sorted({m.id for m in (a.message for a in again)})
    assert len(starts) >= 3  # a round each probe, no faster than the probes
    last = again[-1].message
    welcome = Welcome("r-3", last.id, "alice", "tok", 3, (), (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0 + 201)
    assert prints(out)[:2] == ["[Server is back.]", WELCOME]
    out = run_until(core, T0 + 400)
    assert not [m for m in sent(out) if isinstance(m, Register)]


def test_dereg_stops_asking_again_and_quit_exits() -> None:
    core, _ = offline_reg_unanswered()
    core.line("dereg alice", T0 + 31)  # carried out once the Register on its way is over
    run_until(core, T0 + 60)
    assert not [m for m in sent(run_until(core, T0 + 300)) if isinstance(m, Register)]
    core, _ = offline_reg_unanswered()
    assert pa.Exit(0) in core.line("/quit", T0 + 31) + run_until(core, T0 + 60)
