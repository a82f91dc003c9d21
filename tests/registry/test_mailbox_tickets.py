"""Mailbox tickets at the registry (secure/tickets.py, registry/core/table.py): a sender
showing the ticket a mailbox's owner handed its key keeps a place in that mailbox when
strangers have filled their half; a ticket for another key, or made up, does not; the
secret is given at each Welcome, kept with the row, and new with a new key."""

from __future__ import annotations

import pytest

from registry.core.dispatch import RegistryCore
from registry.core.post_office import MAILBOX_MESSAGES
from registry.core.table import Record, Table, owner_from_json, owner_of
from secure.tickets import ticket, vouches
from tests.registry.core_helpers import T0, core, sends
from tests.registry.test_quotas import key, save
from wire.keys import key_text
from wire.messages import Acks, Deregister, Refused, Register, Saved, SaveMessage, Welcome
from wire.version import WIRE_VERSION

pytestmark = pytest.mark.timeout(30)

CAROL = ("10.0.0.3", 7003)
ALICE = ("10.0.0.1", 7001)
STRANGERS = ("10.0.9.1", "10.0.9.2")  # four keys on two addresses


def welcome(reg: RegistryCore, name: str, addr: tuple[str, int], with_key: bytes) -> Welcome:
    msg = Register(f"{name}-reg", name, addr[1], "", "", WIRE_VERSION)
    out = reg.receive(msg, addr, T0, key=with_key)
    [answer] = [m for a, m in sends(out) if a == addr and isinstance(m, Welcome)]
    return answer


def ticketed_save(
    reg: RegistryCore, sender: str, token: str, to: str, n: int, ticket_: str
) -> object:
    msg = SaveMessage(f"{sender}-t{n}", sender, token, to, "hi", ticket=ticket_)
    out = reg.receive(msg, ALICE, T0, key=key(1))
    heard = [m for a, m in sends(out) if a == ALICE]
    reg.receive(Acks(f"{sender}-tack-{n}", tuple(m.id for m in heard)), ALICE, T0, key=key(1))
    return next(m for m in heard if isinstance(m, Saved | Refused))


def strangers_fill(reg: RegistryCore, owner: str) -> list[object]:
    """Four keys on two addresses send `owner` 200 saves each: what they heard."""
    answers = []
    for k in range(4):
        where = (STRANGERS[k % 2], 8000 + k)
        token = welcome(reg, f"s{k}", where, key(100 + k)).token
        answers += [save(reg, f"s{k}", token, owner, n, where, key(100 + k)) for n in range(200)]
    return answers


def carol_offline(reg: RegistryCore) -> str:
    """carol registered (key 3) and gone offline: the secret of her tickets."""
    given = welcome(reg, "carol", CAROL, key(3))
    reg.receive(Deregister("carol-d", "carol", given.token, False, ""), CAROL, T0, key=key(3))
    return given.tickets


def test_a_sender_with_the_owners_ticket_gets_in_when_strangers_filled_their_half() -> None:
    reg = core(new_names=100)
    alice = welcome(reg, "alice", ALICE, key(1)).token
    secret = carol_offline(reg)
    answers = strangers_fill(reg, "carol")
    assert sum(isinstance(a, Saved) for a in answers) == MAILBOX_MESSAGES // 2
    refusal = answers[-1]
    assert isinstance(refusal, Refused) and refusal.reason.startswith(
        "Senders carol has not written to fill half of carol's mailbox"
    )
    # carol never saved a message for alice: without a ticket alice is a stranger
    assert isinstance(ticketed_save(reg, "alice", alice, "carol", 0, ""), Refused)
    # one made for another key, or made up, is no better
    others = ticket(secret, key_text(key(2)))
    assert isinstance(ticketed_save(reg, "alice", alice, "carol", 1, others), Refused)
    assert isinstance(ticketed_save(reg, "alice", alice, "carol", 2, "A" * 43), Refused)
    assert isinstance(ticketed_save(reg, "alice", alice, "carol", 3, "é" * 43), Refused)
    # the one carol's peer made for alice's key (handed over a direct chat) is kept
    mine = ticket(secret, key_text(key(1)))
    assert isinstance(ticketed_save(reg, "alice", alice, "carol", 4, mine), Saved)
    assert [m.id for m in reg.mail["carol"]][-1] == "alice-t4"


def test_the_secret_is_given_at_each_welcome_kept_with_the_row_and_new_with_a_new_key() -> None:
    reg = core()
    first = welcome(reg, "carol", CAROL, key(3))
    assert len(first.tickets) == 32
    again = welcome(reg, "carol", CAROL, key(3))
    assert again.tickets == first.tickets
    row = reg.table.get("carol")
    assert row is not None and row.tickets == first.tickets
    kept = Table.from_json(reg.table.to_json(), T0).get("carol")
    assert kept is not None and kept.tickets == first.tickets
    assert owner_from_json(owner_of(row).to_json()).tickets == first.tickets
    # a mailbox's owner kept by an older registry has no secret: one is given at the login
    older = {k: v for k, v in owner_of(row).to_json().items() if k != "tickets"}
    assert owner_from_json(older).tickets == ""
    # carol's token moves the name to a new machine: tickets handed with the old key are void
    msg = Register("carol-moved", "carol", CAROL[1], first.token, "", WIRE_VERSION)
    out = reg.receive(msg, CAROL, T0 + 1, key=key(4))
    [moved] = [m for _, m in sends(out) if isinstance(m, Welcome)]
    assert moved.tickets not in ("", first.tickets)


def test_a_ticket_vouches_only_for_its_key_and_its_owners_secret() -> None:
    alices = key_text(key(1))
    made = ticket("s" * 32, alices)
    assert len(made) == 43 and vouches("s" * 32, alices, made)
    assert not vouches("t" * 32, alices, made)
    assert not vouches("s" * 32, key_text(key(2)), made)
    assert not vouches("", alices, made) and not vouches("s" * 32, alices, "")
    assert ticket("s" * 32, "not a key") == "" and ticket("", alices) == ""
    record = Record("carol", "10.0.0.3", 7003, False, "t", tickets="s" * 32)
    assert record.knows("alice", alices, made) and not record.knows("alice", alices, "")
