"""An address belongs to its key (registry/core/registration.py, `_address_held`): a registration
at an address where a peer with another key is online waits until that peer has failed a
liveness probe; one that answers keeps its address, its name and its room."""

from __future__ import annotations

from registry.core.actions import Action
from registry.core.dispatch import RegistryCore
from tests.registry.core_helpers import T0, core, run_until, sends
from wire.messages import Ack, Join, Refused, Register, TableUpdate, Welcome
from wire.reliable import ATTEMPTS
from wire.version import WIRE_VERSION

ALICE = ("127.0.0.1", 7001)
ALICE_KEY = b"a" * 32
MALLORY_KEY = b"m" * 32


def alice_in_a_room(reg: RegistryCore) -> None:
    """alice, with her key, online at ALICE and in room den."""
    out = reg.receive(
        Register("a-1", "alice", ALICE[1], "", "", WIRE_VERSION), ALICE, T0, key=ALICE_KEY
    )
    [welcome] = [m for _, m in sends(out) if isinstance(m, Welcome)]
    reg.receive(Join("a-2", "alice", welcome.token, "den"), ALICE, T0, key=ALICE_KEY)


def mallory_at_alices_port(reg: RegistryCore, now: float) -> tuple[list[object], list[Action]]:
    """mallory, another user of alice's machine (another key, another source port),
    registers its own name at alice's port: what is sent back to it, and all actions."""
    msg = Register("m-1", "mallory", ALICE[1], "", "", WIRE_VERSION)
    out = reg.receive(msg, ("127.0.0.1", 40000), now, key=MALLORY_KEY)
    return [m for a, m in sends(out) if a == ("127.0.0.1", 40000)], out


def test_a_new_key_at_a_running_peers_address_is_refused_once_it_answers() -> None:
    reg = core()
    alice_in_a_room(reg)
    answered, out = mallory_at_alices_port(reg, T0 + 1)
    assert answered == []  # it waits for the probe
    [ping] = [m for a, m in sends(out) if a == ALICE and isinstance(m, TableUpdate)]
    assert ping.version == 0
    out = reg.receive(Ack("a-3", ping.id), ALICE, T0 + 1.1, key=ALICE_KEY)
    [(_, refused)] = [(a, m) for a, m in sends(out) if isinstance(m, Refused)]
    assert refused.reason == (
        "The address 127.0.0.1:7001 is in use by alice, which answered just now; "
        "choose another port."
    )
    alice = reg.table.get("alice")
    assert alice is not None and alice.online and alice.room == "den"
    assert reg.table.get("mallory") is None


def test_the_address_is_taken_only_once_its_peer_fails_the_probe() -> None:
    reg = core()
    alice_in_a_room(reg)
    answered, _ = mallory_at_alices_port(reg, T0 + 1)
    assert answered == []
    out = run_until(reg, T0 + 1 + ATTEMPTS * 0.5 + 0.1)  # alice is gone: no answer
    assert any(isinstance(m, Welcome) for _, m in sends(out))
    alice = reg.table.get("alice")
    assert alice is not None and not alice.online and alice.room == ""


def test_the_same_key_under_another_name_takes_its_address_at_once() -> None:
    # a peer restarted on its port under another name, from the same folder (its key)
    reg = core()
    alice_in_a_room(reg)
    msg = Register("b-1", "alias", ALICE[1], "", "", WIRE_VERSION)
    out = reg.receive(msg, ALICE, T0 + 1, key=ALICE_KEY)
    assert any(isinstance(m, Welcome) for _, m in sends(out))
    alice = reg.table.get("alice")
    assert alice is not None and not alice.online
