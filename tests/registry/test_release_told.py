"""A name released on the registry's console while its peer is online: the peer is told at
once, sealed for its key (it is in the table no more, and pushes are sealed for the key the
table has online at an address), so that it goes offline rather than hear of it only at its
next keepalive, or never if the registry is killed meanwhile."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from tests.registry.core_helpers import ROUND, T0, X, Y, core, run_until
from wire.messages import Ack, Register, TableUpdate, Welcome
from wire.version import WIRE_VERSION

ALICE_KEY, CAROL_KEY = bytes(range(32)), bytes(range(1, 33))


def registered() -> RegistryCore:
    reg = core()
    for name, addr, key in (("alice", X, ALICE_KEY), ("carol", Y, CAROL_KEY)):
        msg = Register(f"{name}-r", name, addr[1], "", "", WIRE_VERSION)
        assert any(
            isinstance(a, ra.Send) and isinstance(a.message, Welcome)
            for a in reg.receive(msg, addr, T0, key=key)
        )
    return reg


def pushed(actions: list[ra.Action]) -> list[tuple[tuple[str, int], bytes, TableUpdate]]:
    """Each (address, key, update) the actions push."""
    out = []
    for a in actions:
        if isinstance(a, ra.Send) and isinstance(a.message, TableUpdate):
            out.append((a.addr, a.key, a.message))
        elif isinstance(a, ra.SendMany) and isinstance(a.message, TableUpdate):
            out += [(addr, k, a.message) for addr, k in zip(a.addrs, a.keys, strict=True)]
    return out


def test_a_peer_released_while_online_is_told_at_once_sealed_for_its_key() -> None:
    reg = registered()  # (carol's registration was pushed a moment ago: the next is held)
    out = pushed(reg.release_name("carol", T0 + 0.01))
    told = [(key, update) for addr, key, update in out if addr == Y]
    assert [key for key, _ in told] == [CAROL_KEY]
    [(_, update)] = told
    assert [(e.name, e.port) for e in update.entries] == [("carol", 0)]
    assert X in [addr for addr, _, _ in out]  # the others at once too


def test_its_push_is_sent_again_sealed_for_its_key_until_acked() -> None:
    reg = registered()
    [update] = [u for addr, _, u in pushed(reg.release_name("carol", T0 + 0.01)) if addr == Y]
    again = [key for addr, key, _ in pushed(run_until(reg, T0 + 1.2)) if addr == Y]
    assert again and set(again) == {CAROL_KEY}
    reg.receive(Ack("c-1", update.id), Y, T0 + 1.3, key=CAROL_KEY)
    assert not [a for a, _, _ in pushed(run_until(reg, T0 + 1.3 + ROUND)) if a == Y]
