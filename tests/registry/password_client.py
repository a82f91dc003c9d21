"""A client's side of a name's password, against a RegistryCore in tests (secure/password.py):
a new name's verifier set, the password proven (a PasswordAsk, then a Register with its
proof), or a guess that proves nothing, as an attacker online sends one."""

from __future__ import annotations

import secrets

from registry.core.dispatch import RegistryCore
from secure import password
from tests.registry.core_helpers import REGISTRY_KEY, sends
from wire.messages import Busy, PasswordAsk, PasswordChallenge, Refused, Register, Welcome
from wire.version import WIRE_VERSION

Addr = tuple[str, int]


def asked(
    reg: RegistryCore, name: str, addr: Addr, key: bytes, now: float, msg_id: str
) -> PasswordChallenge | Refused | Busy:
    """What the registry answers a PasswordAsk for `name` from `key` at `addr`."""
    out = reg.receive(PasswordAsk(f"{msg_id}-ask", name), addr, now, key=key)
    answers = PasswordChallenge | Refused | Busy
    said = [m for a, m in sends(out) if a == addr and isinstance(m, answers)]
    assert len(said) == 1, out
    return said[0]


def registered(
    reg: RegistryCore,
    name: str,
    addr: Addr,
    key: bytes,
    now: float,
    msg_id: str,
    proof: str = "",
    verifier: str = "",
) -> Welcome | Refused:
    """The Welcome or Refused that answers a Register of `name` with `proof` or `verifier`."""
    msg = Register(msg_id, name, addr[1], "", proof, WIRE_VERSION, verifier)
    out = reg.receive(msg, addr, now, key=key)
    return next(m for a, m in sends(out) if a == addr and isinstance(m, Welcome | Refused))


def set_password(
    reg: RegistryCore, name: str, secret: str, addr: Addr, key: bytes, now: float, msg_id: str
) -> Welcome | Refused:
    """A new name registered with `secret` set as its password, as a client sets it."""
    said = asked(reg, name, addr, key, now, msg_id)
    assert isinstance(said, PasswordChallenge) and said.new, said
    made = password.new_verifier(secret)
    return registered(reg, name, addr, key, now, msg_id, verifier=made)


def login(
    reg: RegistryCore, name: str, secret: str, addr: Addr, key: bytes, now: float, msg_id: str
) -> Welcome | Refused | Busy:
    """`name` taken with `secret`, proven as a client proves it (nothing, when `key` owns the
    name); the answer to the ask when it was refused or asked to wait, else to the Register."""
    said = asked(reg, name, addr, key, now, msg_id)
    if isinstance(said, Refused | Busy):
        return said
    proof = ""
    if said.public:
        ident = password.identity(name, key, REGISTRY_KEY)
        proof = password.prove(secret, ident, said.scrypt, said.salt, said.public)
        assert proof
    return registered(reg, name, addr, key, now, msg_id, proof=proof)


def guess(
    reg: RegistryCore, name: str, addr: Addr, key: bytes, now: float, msg_id: str
) -> Welcome | Refused | Busy:
    """An online guess at `name`'s password: a challenge asked, and a proof made of random
    bytes sent (as wrong as a wrong password's, and as costly for the registry to check)."""
    said = asked(reg, name, addr, key, now, msg_id)
    if isinstance(said, Refused | Busy):
        return said
    return registered(reg, name, addr, key, now, msg_id, proof=random_proof())


def said(answer: object) -> str:
    """A refusal's reason, or "wait" for a Busy: what the peer was told."""
    return (
        answer.reason if isinstance(answer, Refused) else "wait" if isinstance(answer, Busy) else ""
    )


def random_proof() -> str:
    """A proof "<A>$<M>" that answers no challenge."""
    return f"{secrets.token_hex(256)}${secrets.token_hex(32)}"
