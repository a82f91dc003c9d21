"""A registry that lost its table (or some rows of it) gives no mailbox away: each mailbox
keeps what proves its owner (Owner), the row is rebuilt from it and said on the
console, and only the owner's key (or password, or token) takes the name and its mail."""

from __future__ import annotations

from pathlib import Path

from registry.adapter.store import FileStore, mail_line
from registry.core import actions as ra
from registry.core.actions import Owner
from registry.core.dispatch import RegistryCore
from registry.core.table import Table
from tests.registry.core_helpers import T0, core, sends
from wire.keys import key_text
from wire.messages import Deregister, Refused, Register, SaveMessage, Welcome
from wire.version import WIRE_VERSION

BOB = ("10.0.0.2", 7002)
ALICE = ("10.0.0.1", 7001)
STRANGER = ("10.0.0.66", 7066)
BOB_KEY, ALICE_KEY, STRANGER_KEY = bytes([2]) * 32, bytes([1]) * 32, bytes([66]) * 32


def register(reg: RegistryCore, name: str, addr: tuple[str, int], key: bytes) -> object:
    """The Welcome or Refused that answers a registration of `name` with `key`."""
    msg = Register(f"{name}-{key[0]}", name, addr[1], "", "", WIRE_VERSION)
    out = reg.receive(msg, addr, T0 + 5, key=key)
    return next(m for a, m in sends(out) if a == addr and isinstance(m, Welcome | Refused))


def bob_with_mail() -> tuple[RegistryCore, dict[str, Owner]]:
    """A registry where bob (offline) has 3 messages from alice; what its mailbox kept of
    its owner, as the adapter was told."""
    reg = core()
    bob = register(reg, "bob", BOB, BOB_KEY)
    alice = register(reg, "alice", ALICE, ALICE_KEY)
    assert isinstance(bob, Welcome) and isinstance(alice, Welcome)
    reg.receive(Deregister("bob-d", "bob", bob.token, False, ""), BOB, T0, key=BOB_KEY)
    owners: dict[str, Owner] = {}
    for n in range(3):
        save = SaveMessage(f"a-{n}", "alice", alice.token, "bob", f"sealed {n}")
        out = reg.receive(save, ALICE, T0, key=ALICE_KEY)
        owners |= {a.box: a.owner for a in out if isinstance(a, ra.KeepOwner)}
    assert owners["bob"].key == key_text(BOB_KEY)
    return reg, owners


def test_with_its_table_lost_a_registry_keeps_bobs_mailbox_for_bobs_key() -> None:
    old, owners = bob_with_mail()
    reg = core(mail=old.mail, owners=owners)  # table.json deleted
    logs = [a.line for a in reg.start(T0 + 1) if isinstance(a, ra.Log)]
    assert any("no row for 1 name with a mailbox (bob): rebuilt" in line for line in logs), logs
    refused = register(reg, "bob", STRANGER, STRANGER_KEY)
    assert isinstance(refused, Refused)
    assert (
        refused.reason == "The name bob belongs to someone else; only its owner can take it back."
    )
    assert len(reg.mail["bob"]) == 3  # neither handed over nor deleted
    welcome = register(reg, "bob", BOB, BOB_KEY)
    assert isinstance(welcome, Welcome)
    assert [m.text for m in welcome.mail] == ["sealed 0", "sealed 1", "sealed 2"]


def test_a_row_missing_from_the_table_is_rebuilt_and_the_others_kept() -> None:
    old, owners = bob_with_mail()
    table = Table.from_json(old.table.to_json(), T0)
    del table.records["bob"]  # one row removed by hand
    reg = core(table=table, mail=old.mail, owners=owners)
    assert any(isinstance(a, ra.SaveTable) for a in reg.start(T0 + 1))  # the row is saved
    assert isinstance(register(reg, "bob", STRANGER, STRANGER_KEY), Refused)
    assert isinstance(register(reg, "alice", ALICE, ALICE_KEY), Welcome)
    assert isinstance(register(reg, "bob", BOB, BOB_KEY), Welcome)


def test_a_mailbox_that_records_no_owner_keeps_its_name_from_everyone_until_released() -> None:
    old, _ = bob_with_mail()
    reg = core(mail=old.mail)  # a mailbox kept by a registry of before owners were kept
    logs = [a.line for a in reg.start(T0 + 1) if isinstance(a, ra.Log)]
    assert any("whose mailbox records no owner (bob): nobody can take them" in x for x in logs)
    for addr, key in ((STRANGER, STRANGER_KEY), (BOB, BOB_KEY)):
        assert isinstance(register(reg, "bob", addr, key), Refused)
    assert len(reg.mail["bob"]) == 3
    reg.release_name("bob", T0 + 6)  # the console gives it away, with its mail
    assert isinstance(register(reg, "bob", STRANGER, STRANGER_KEY), Welcome)
    assert "bob" not in reg.mail


def test_the_owner_is_kept_beside_the_box_and_goes_with_its_last_message(tmp_path: Path) -> None:
    old, owners = bob_with_mail()
    storage = FileStore(tmp_path)
    for box, messages in old.mail.items():
        for message in messages:
            storage.append_line(box, mail_line(message))
    storage.keep_owner("bob", owners["bob"])
    assert FileStore(tmp_path).load_owners() == owners
    (tmp_path / "mail" / "carol.owner.json").write_text("{not json")  # damaged: logged
    lines: list[str] = []
    assert FileStore(tmp_path, lines.append).load_owners() == owners
    assert lines and "carol.owner.json: not a mailbox's owner" in lines[0]
    storage.drop("bob", tuple(m.id for m in old.mail["bob"]))
    assert not (tmp_path / "mail" / "bob.owner.json").exists()
