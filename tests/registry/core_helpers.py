"""Driving a RegistryCore in tests: one made with predictable tokens, peers registered at
fixed addresses, the messages its actions send, and its clock run forward."""

from __future__ import annotations

import itertools
from typing import Any

from registry.adapter.password_checks import carry_out
from registry.core import actions as ra
from registry.core.credentials import token_matches
from registry.core.dispatch import RegistryCore
from wire.messages import Acks, Join, Register, Welcome
from wire.reliable import ATTEMPTS, TIMEOUT
from wire.version import WIRE_VERSION

X, Y, Z = ("127.0.0.1", 6001), ("127.0.0.1", 6002), ("127.0.0.1", 6003)
T0 = 1_700_000_000.0
#: Seconds a push is tried for (ATTEMPTS tries, TIMEOUT apart), and a liveness probe.
ROUND = ATTEMPTS * TIMEOUT
PROBE = ATTEMPTS * TIMEOUT
#: What a test registry's password checks are made with: its made-up challenges' secret,
#: and its public key, which every proof is bound to (registry/adapter/password_checks.py).
SECRET, REGISTRY_KEY = b"made-up secret", bytes(range(32))
#: More tokens than a test's core hands out: those `token_of` looks through.
MOST_TOKENS = 1000


def core(**options: Any) -> RegistryCore:
    """A registry core whose tokens are 1, 2, 3... in hex; `options` go to RegistryCore."""
    tokens = itertools.count(1)
    return RegistryCore(session="r", new_token=lambda: f"{next(tokens):032x}", **options)


def checked_at_once(reg: RegistryCore, out: list[ra.Action], now: float) -> list[ra.Action]:
    """`out`, each password check it asks for (CheckPassword) done at once, as the
    adapter's thread pool does later (registry/adapter/password_checks.py), and the actions of
    the registration it lets go on in its place."""
    done: list[ra.Action] = []
    for action in out:
        if isinstance(action, ra.CheckPassword):
            outcome = carry_out(action, SECRET, REGISTRY_KEY)
            done += checked_at_once(reg, reg.password_checked(action.ticket, outcome, now), now)
        else:
            done.append(action)
    return done


def sends(actions: list[ra.Action]) -> list[tuple[tuple[str, int], object]]:
    """Every (address, message) the actions send, a SendMany as one Send per address."""
    out: list[tuple[tuple[str, int], object]] = []
    for a in actions:
        if isinstance(a, ra.Send):
            out.append((a.addr, a.message))
        elif isinstance(a, ra.SendMany):
            out += [(addr, a.message) for addr in a.addrs]
    return out


def run_until(reg: RegistryCore, end: float) -> list[ra.Action]:
    """Every action of the core's wake-ups up to `end`, each at the time it asked for."""
    out: list[ra.Action] = []
    while (wake := reg.next_wake()) is not None and wake <= end:
        out += reg.tick(wake)
    return out


def register(reg: RegistryCore, name: str, addr: tuple[str, int], token: str = "") -> Welcome:
    """Register `name` from `addr` at T0; its Welcome."""
    out = reg.receive(Register(f"{name}-reg", name, addr[1], token, "", WIRE_VERSION), addr, T0)
    welcome = [m for _, m in sends(out) if isinstance(m, Welcome)]
    assert welcome, out
    return welcome[0]


def in_room(reg: RegistryCore, room: str, *names_at: tuple[str, tuple[str, int]]) -> dict[str, str]:
    """Register each (name, address) at T0 and put it in `room`: their tokens by name."""
    tokens = {}
    for name, addr in names_at:
        out = reg.receive(Register(f"{name}-reg", name, addr[1], "", "", WIRE_VERSION), addr, T0)
        acked(reg, out, T0)
        token = next(m for _, m in sends(out) if isinstance(m, Welcome)).token
        acked(reg, reg.receive(Join(f"{name}-j", name, token, room), addr, T0), T0)
        tokens[name] = token
    return tokens


def acked(reg: RegistryCore, out: list[ra.Action], now: float) -> None:
    """Each peer acks at `now` what `out` sends it, and what that lets out to it, as peers
    do: what is pushed to one next goes at once (registry/core/pushes.py)."""
    while out:
        ids: dict[tuple[str, int], list[str]] = {}
        for addr, message in sends(out):
            ids.setdefault(addr, []).append(message.id)  # type: ignore[attr-defined]
        out = []
        for addr, replies in ids.items():
            out += reg.receive(Acks(f"ack-{replies[0]}", tuple(replies)), addr, now)
        out += run_until(reg, now)


def token_of(reg: RegistryCore, name: str) -> str:
    """The token `name`'s owner holds, of a core made by `core`: of the tokens it hands out
    (1, 2, 3... in hex), the one the record's hash is of (the registry keeps only hashes)."""
    record = reg.table.get(name)
    assert record is not None
    given = (f"{n:032x}" for n in itertools.count(1))
    return next(t for t in itertools.islice(given, MOST_TOKENS) if token_matches(t, record.token))
