"""Direct messages saved at the registry: sealed by the sender to the recipient's key, opened
only with it, and only believed from a key of their sender's: the one the table gives, the
one pinned when we last talked, or the one the registry says saved the message."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec.structs import replace

from peer.adapter.key_checks import KeyChecks
from peer.adapter.key_contact import ContactRule
from peer.core.actions import Print
from peer.core.sealed_mail import (
    NOT_OPENED,
    NOT_SEALED,
    PROLOGUE,
    SEALED_PREFIX,
    X_PREFIX,
    SealedMail,
)
from peer.core.table import Trust
from secure.noise import CHANNEL_PROTOCOL, public_bytes, seal
from secure.one_way import HEADER
from wire.keys import key_text
from wire.limits import MAX_ID, MAX_NAME, MAX_SEALED, MAX_TEXT
from wire.messages import Chat, Entry, MoreMail, SaveMessage, StoredMessage, Welcome

ALICE, BOB, MALLORY = (X25519PrivateKey.generate() for _ in range(3))
TABLE = {
    "alice": Entry("alice", "10.0.0.1", 6001, True, key_text(public_bytes(ALICE))),
    "bob": Entry("bob", "10.0.0.2", 6002, False, key_text(public_bytes(BOB))),
    "mallory": Entry("mallory", "10.0.0.3", 6003, True, key_text(public_bytes(MALLORY))),
}


def mail_of(key: X25519PrivateKey) -> SealedMail:
    return SealedMail(key, TABLE.get)


def sealed_save(text: str, sender: X25519PrivateKey = ALICE, name: str = "alice") -> SaveMessage:
    save = mail_of(sender).sealed(SaveMessage("a-1", name, "tok", "bob", text))
    assert save is not None
    return save


def test_a_save_leaves_sealed_and_only_its_recipient_reads_it() -> None:
    save = sealed_save("my bank PIN is 1234")
    assert save.text.startswith(SEALED_PREFIX) and "1234" not in save.text
    delivered = Chat(save.id, save.sender, save.to, save.text)
    assert mail_of(BOB).opened(delivered) == Chat("a-1", "alice", "bob", "my bank PIN is 1234")
    assert mail_of(MALLORY).opened(delivered).text == NOT_OPENED.format(sender="alice")


def test_a_save_sealed_keeps_its_other_fields_its_typed_time_too() -> None:
    save = SaveMessage("a-1", "alice", "tok", "bob", "hi", after="a-0", typed=1_800_000_000)
    sealed = mail_of(ALICE).sealed(save)
    assert sealed is not None and sealed.text != "hi"
    assert msgspec.structs.replace(sealed, text="hi", key="") == save


def test_mail_handed_over_is_opened_with_the_welcomes_own_table() -> None:
    save = sealed_save("see you later")
    stored = StoredMessage(save.id, "alice", save.text, "2026-11-23 10:00:00", "direct")
    channel = StoredMessage("c-1", "alice", "hello all", "2026-11-23 10:00:01", "channel")
    welcome = Welcome("w", "r", "bob", "tok", 3, tuple(TABLE.values()), (stored, channel), ())
    empty_table = SealedMail(BOB, lambda name: None)
    opened = empty_table.opened(welcome)
    assert isinstance(opened, Welcome)
    assert [m.text for m in opened.mail] == ["see you later", "hello all"]
    more = mail_of(BOB).opened(MoreMail("m", "r", (stored,)))
    assert isinstance(more, MoreMail) and more.mail[0].text == "see you later"


def test_a_message_sealed_by_another_key_than_its_senders_is_not_shown() -> None:
    forged = sealed_save("from alice, honestly", sender=MALLORY, name="alice")
    chat = Chat(forged.id, "alice", "bob", forged.text)
    assert mail_of(BOB).opened(chat).text == NOT_OPENED.format(sender="alice")


def test_a_seal_moved_to_another_message_does_not_open() -> None:
    save = sealed_save("meant for message a-1")
    moved = Chat("a-2", "alice", "bob", save.text)  # the registry swaps the ids
    assert mail_of(BOB).opened(moved).text == NOT_OPENED.format(sender="alice")


def test_an_altered_seal_does_not_open() -> None:
    save = sealed_save("hello")
    for i in range(len(SEALED_PREFIX), len(save.text), 7):
        flipped = save.text[:i] + ("A" if save.text[i] != "A" else "B") + save.text[i + 1 :]
        opened = mail_of(BOB).opened(Chat(save.id, "alice", "bob", flipped))
        assert opened.text == NOT_OPENED.format(sender="alice")


def test_a_message_kept_in_clear_says_nothing_proves_its_sender() -> None:
    chat = Chat("a-1", "alice", "bob", "old mail")
    assert mail_of(BOB).opened(chat).text == NOT_SEALED.format(sender="alice") + "old mail"


def test_a_recipient_without_a_key_gets_no_seal() -> None:
    no_key = SealedMail(ALICE, lambda name: Entry(name, "10.0.0.9", 1, False, ""))
    assert no_key.sealed(SaveMessage("a-1", "alice", "tok", "old", "hi")) is None


@pytest.mark.parametrize("row", [None, Entry("bob", "10.0.0.2", 6002, False, "")])
def test_a_recipient_the_table_gives_no_key_is_sealed_to_the_key_pinned_for_them(
    row: Entry | None,
) -> None:
    # a registry that drops bob's row or key does not make alice's save to him go in clear
    pinned = {"bob": public_bytes(BOB)}.get
    mail = SealedMail(ALICE, lambda name: row, pinned)
    save = mail.sealed(SaveMessage("a-1", "alice", "tok", "bob", "my bank PIN is 1234"))
    assert save is not None and "1234" not in save.text
    assert save.key == key_text(public_bytes(BOB))
    delivered = Chat(save.id, save.sender, save.to, save.text)
    assert mail_of(BOB).opened(delivered).text == "my bank PIN is 1234"


def test_a_key_nothing_can_be_sealed_to_raises_the_one_noise_error() -> None:
    import pytest

    from secure.noise import NoiseError

    bad = SealedMail(ALICE, lambda name: Entry(name, "10.0.0.9", 1, False, key_text(bytes(32))))
    with pytest.raises(NoiseError):
        bad.sealed(SaveMessage("a-1", "alice", "tok", "bob", "hi"))


def test_a_message_sealed_by_the_key_pinned_for_its_sender_opens_after_they_moved() -> None:
    """alice saved a message for bob, then moved her name to a new key (a new machine), or
    the registry lost its table: it is still from the alice bob talked with, whose key he
    pinned then."""
    save = sealed_save("written on my old laptop")
    chat = Chat(save.id, "alice", "bob", save.text)
    moved = {**TABLE, "alice": replace(TABLE["alice"], key=key_text(public_bytes(MALLORY)))}
    pins = {"alice": public_bytes(ALICE)}
    for table in (moved, {}):  # a new key in the table; no alice in it at all
        assert SealedMail(BOB, table.get).opened(chat).text == NOT_OPENED.format(sender="alice")
        shown = SealedMail(BOB, table.get, pins.get).opened(chat)
        assert shown.text == "written on my old laptop"


def test_a_pin_for_another_key_opens_nothing_forged() -> None:
    forged = sealed_save("from alice, honestly", sender=MALLORY, name="alice")
    chat = Chat(forged.id, "alice", "bob", forged.text)
    pins = {"alice": public_bytes(ALICE), "mallory": public_bytes(MALLORY)}
    assert SealedMail(BOB, TABLE.get, pins.get).opened(chat).text == NOT_OPENED.format(
        sender="alice"
    )


# -- the key the registry says saved a message ---------------------------------------------

ALICE_NEW, ALICE_OLDER = X25519PrivateKey.generate(), X25519PrivateKey.generate()
#: The table once alice moved her name to a new machine (a new key).
MOVED = {**TABLE, "alice": replace(TABLE["alice"], key=key_text(public_bytes(ALICE_NEW)))}


def stored_save(
    text: str, msg_id: str = "a-1", saved_by: X25519PrivateKey | None = ALICE
) -> StoredMessage:
    """A message alice sealed on her first machine, as bob's mailbox hands it over, with the
    key the registry says saved it (None: kept by a registry that did not say)."""
    save = mail_of(ALICE).sealed(SaveMessage(msg_id, "alice", "tok", "bob", text))
    assert save is not None
    stored = StoredMessage(msg_id, "alice", save.text, "2026-11-23 10:00:00", "direct")
    return stored if saved_by is None else stored._replace(saved_by=key_of(saved_by))


def key_of(key: X25519PrivateKey) -> str:
    return key_text(public_bytes(key))


def test_a_message_sealed_by_the_key_that_saved_it_opens_after_its_sender_moved() -> None:
    """bob never talked with alice: no pin. The registry says which key saved the message,
    and that key sealed it: it is alice's, though her name has moved to a new key since."""
    stored = stored_save("written on my old laptop")
    for table in (MOVED, {}):  # a new key in the table; no alice in it at all
        mail = SealedMail(BOB, table.get)
        [shown] = _more_mail(mail, stored)
        assert shown.text == "written on my old laptop"
    delivered = Chat(stored.id, "alice", "bob", stored.text, stored.saved_by)  # bob online
    assert SealedMail(BOB, MOVED.get).opened(delivered).text == "written on my old laptop"


def test_a_saving_key_other_than_the_one_pinned_opens_and_the_change_is_said_once(
    tmp_path: Path,
) -> None:
    """bob pinned a key of alice's before the one that saved her messages: they are shown,
    and he is told once that her key has changed, in the words of a direct chat from a
    changed key (peer/adapter/key_checks.py, wired as the peer wires it)."""

    async def opened() -> tuple[list[str], list[Print]]:
        said: list[Print] = []
        keys = KeyChecks(
            tmp_path, ("127.0.0.1", 7300), Trust(b"", MOVED.get), said.append, rule=ContactRule()
        )
        keys.pinned("alice", public_bytes(ALICE_OLDER))  # when they last talked
        assert not said
        mail = SealedMail(BOB, MOVED.get, keys.pinned_key, changed=keys.pinned)
        texts = [m.text for m in _more_mail(mail, stored_save("one"), stored_save("two", "a-2"))]
        assert keys.pinned_key("alice") == public_bytes(ALICE)  # pinned, as a chat pins it
        return texts, said

    texts, said = asyncio.run(opened())
    assert texts == ["one", "two"]
    line = (
        "[alice's key has changed since you last talked; compare fingerprints with /whois alice.]"
    )
    assert said == [Print(line, "error")]


@pytest.mark.needs_pure  # hands a stand-in endpoint to the compiled key checks
def test_a_changed_key_in_a_welcomes_mail_is_said_right_after_the_welcome(tmp_path: Path) -> None:
    """Mail handed over in a Welcome is opened before the Welcome's line is shown: what its
    keys say waits for that line (it stays the first line a script reads); mail that comes
    later (MoreMail) is said at once, before its lines."""
    server = ("127.0.0.1", 7300)

    class Registry:  # answers the key request at once, as a registry first met does
        def __init__(self, keys: KeyChecks) -> None:
            self.keys = keys

        def ask_key(self, addr: tuple[str, int]) -> None:
            key = public_bytes(X25519PrivateKey.generate())
            self.keys.key_answered(addr, key + CHANNEL_PROTOCOL)

    async def opened() -> tuple[list[Print], list[Print]]:
        said: list[Print] = []
        after_welcome: list[Print] = []
        keys = KeyChecks(tmp_path, server, Trust(b"", MOVED.get), said.append, rule=ContactRule())
        assert await keys.registry_key(Registry(keys), after_welcome)  # type: ignore[arg-type]
        keys.pinned("alice", public_bytes(ALICE_OLDER))  # when they last talked
        mail = SealedMail(BOB, MOVED.get, keys.pinned_key, changed=keys.pinned)
        rows = tuple(MOVED.values())
        welcome = Welcome("w", "r", "bob", "tok", 3, rows, (stored_save("one"),), ())
        opened = mail.opened(welcome)
        assert isinstance(opened, Welcome) and [m.text for m in opened.mail] == ["one"]
        return said, after_welcome

    said, after_welcome = asyncio.run(opened())
    assert not said
    line = (
        "[alice's key has changed since you last talked; compare fingerprints with /whois alice.]"
    )
    assert after_welcome[-1] == Print(line, "error")  # after the registry's key, first met


def test_the_tables_key_other_than_the_one_pinned_opens_and_the_change_is_said() -> None:
    """As a direct chat from the key the table gives is believed, and its change said."""
    changed: list[tuple[str, bytes]] = []
    pins = {"alice": public_bytes(ALICE_OLDER)}
    mail = SealedMail(BOB, TABLE.get, pins.get, changed=lambda n, k, w: changed.append((n, k)))
    [shown] = _more_mail(mail, stored_save("hi", saved_by=None))
    assert shown.text == "hi" and changed == [("alice", public_bytes(ALICE))]
    # the key pinned opens it with nothing said
    same = SealedMail(
        BOB,
        MOVED.get,
        {"alice": public_bytes(ALICE)}.get,
        changed=lambda n, k, w: changed.append((n, k)),
    )
    assert [m.text for m in _more_mail(same, stored_save("hi"))] == ["hi"] and len(changed) == 1


def test_a_message_sealed_by_a_key_neither_the_tables_nor_pinned_nor_saving_is_refused() -> None:
    forged = sealed_save("from alice, honestly", sender=MALLORY, name="alice")
    stamp = "2026-11-23 10:00:00"
    stored = StoredMessage(forged.id, "alice", forged.text, stamp, "direct", key_of(ALICE))
    pins = {"alice": public_bytes(ALICE_OLDER)}
    changed: list[tuple[str, bytes]] = []
    mail = SealedMail(BOB, MOVED.get, pins.get, changed=lambda n, k, w: changed.append((n, k)))
    [shown] = _more_mail(mail, stored)
    assert shown.text == NOT_OPENED.format(sender="alice") and not changed
    # nor does a saving key that is not a key at all open anything
    garbage = stored_save("hi")._replace(saved_by="not a key")
    [shown] = _more_mail(SealedMail(BOB, MOVED.get), garbage)
    assert shown.text == NOT_OPENED.format(sender="alice")


def test_a_message_kept_without_the_key_that_saved_it_opens_as_before() -> None:
    """Kept by a registry that did not record the saving key: the table's key or the pin
    opens it, as they did; nothing else."""
    stored = stored_save("kept before", saved_by=None)
    assert stored.saved_by == ""
    assert [m.text for m in _more_mail(SealedMail(BOB, TABLE.get), stored)] == ["kept before"]
    pins = {"alice": public_bytes(ALICE)}
    assert [m.text for m in _more_mail(SealedMail(BOB, MOVED.get, pins.get), stored)] == [
        "kept before"
    ]
    [refused] = _more_mail(SealedMail(BOB, MOVED.get), stored)
    assert refused.text == NOT_OPENED.format(sender="alice")


def _more_mail(mail: SealedMail, *stored: StoredMessage) -> tuple[StoredMessage, ...]:
    opened = mail.opened(MoreMail("m", "r", stored))
    assert isinstance(opened, MoreMail)
    return opened.mail


def test_a_message_sealed_as_one_noise_x_message_of_its_own_opens() -> None:
    # as earlier versions sealed each save: still in mailboxes, and in outboxes
    payload = "\0".join(("a-1", "alice", "bob", "kept from before")).encode()
    sealed = seal(ALICE, public_bytes(BOB), PROLOGUE, payload)
    chat = Chat("a-1", "alice", "bob", X_PREFIX + base64.urlsafe_b64encode(sealed).decode())
    assert mail_of(BOB).opened(chat).text == "kept from before"
    assert mail_of(MALLORY).opened(chat).text == NOT_OPENED.format(sender="alice")


def test_saves_to_one_recipient_share_one_handshake_and_each_opens_alone() -> None:
    alice = mail_of(ALICE)
    saves = [alice.sealed(SaveMessage(f"a-{i}", "alice", "tok", "bob", f"m{i}")) for i in range(3)]
    records = [base64.urlsafe_b64decode(s.text[len(SEALED_PREFIX) :]) for s in saves if s]
    assert len({r[:HEADER] for r in records}) == 1
    for save in reversed(saves):
        assert save is not None
        chat = Chat(save.id, "alice", "bob", save.text)
        assert mail_of(BOB).opened(chat).text == save.id.replace("a-", "m")


def test_the_longest_text_sealed_fits_what_the_registry_takes() -> None:
    text = "\u00e9" * (MAX_TEXT // 2)  # MAX_TEXT bytes of UTF-8
    save = mail_of(ALICE).sealed(SaveMessage("a" * MAX_ID, "a" * MAX_NAME, "t", "bob", text))
    assert save is not None and len(save.text.encode()) <= MAX_SEALED
