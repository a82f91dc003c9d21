"""The key that saved each direct message: the registry takes it from the request the save
came in, keeps it in the mailbox file across a restart, and hands it over with the message,
for its recipient to know the sender by (peer/core/sealed_mail.py)."""

from __future__ import annotations

from pathlib import Path

from registry.adapter.store import FileStore, mail_line
from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from registry.core.table import Table
from tests.registry.core_helpers import T0, core, sends
from tests.registry.password_client import login, set_password
from wire.keys import key_text
from wire.messages import Chat, Deregister, Register, SaveMessage, Welcome
from wire.version import WIRE_VERSION

ALICE, BOB = ("10.0.0.1", 7001), ("10.0.0.2", 7002)
PASSWORD = "correct-horse-battery-staple"
ALICE_KEY, ALICE_NEW_KEY, BOB_KEY = bytes([1]) * 32, bytes([11]) * 32, bytes([2]) * 32


def welcome(reg: RegistryCore, name: str, addr: tuple[str, int], key: bytes) -> Welcome:
    msg = Register(f"{name}-{key[0]}", name, addr[1], "", "", WIRE_VERSION)
    out = reg.receive(msg, addr, T0, key=key)
    [answer] = [m for a, m in sends(out) if a == addr and isinstance(m, Welcome)]
    return answer


def save(reg: RegistryCore, token: str) -> list[ra.Action]:
    """alice saves a message for bob, from her key."""
    return reg.receive(SaveMessage("a-1", "alice", token, "bob", "s1.x"), ALICE, T0, key=ALICE_KEY)


def test_the_key_a_save_came_with_is_kept_across_a_restart_and_handed_over(
    tmp_path: Path,
) -> None:
    reg = core()
    bob = welcome(reg, "bob", BOB, BOB_KEY)
    alice = set_password(reg, "alice", PASSWORD, ALICE, ALICE_KEY, T0, "alice-1")
    assert isinstance(alice, Welcome)
    reg.receive(Deregister("bob-d", "bob", bob.token, False, ""), BOB, T0, key=BOB_KEY)
    out = save(reg, alice.token)
    reg.receive(Deregister("alice-d", "alice", alice.token, False, ""), ALICE, T0, key=ALICE_KEY)
    storage = FileStore(tmp_path)
    for action in out:
        if isinstance(action, ra.StoreMail):
            storage.append_line(action.owner, mail_line(action.message))
    # the registry starts again from its files; alice moves her name to a new key meanwhile
    table = Table.from_json(reg.table.to_json(), T0)
    again = core(table=table, mail=FileStore(tmp_path).load_mail())
    moved = login(again, "alice", PASSWORD, ("10.0.0.3", 7003), ALICE_NEW_KEY, T0, "alice-2")
    assert isinstance(moved, Welcome)
    [mail] = welcome(again, "bob", BOB, BOB_KEY).mail
    assert (mail.id, mail.saved_by) == ("a-1", key_text(ALICE_KEY))


def test_a_save_for_someone_online_is_delivered_with_the_key_it_came_with() -> None:
    reg = core()
    welcome(reg, "bob", BOB, BOB_KEY)
    alice = welcome(reg, "alice", ALICE, ALICE_KEY)
    [chat] = [m for a, m in sends(save(reg, alice.token)) if a == BOB and isinstance(m, Chat)]
    assert chat.saved_by == key_text(ALICE_KEY)
