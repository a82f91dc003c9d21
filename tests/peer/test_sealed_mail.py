"""Direct messages saved at the registry: sealed by the sender to the recipient's key, opened
only with it, and only believed from the key the table gives their sender."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.noise import public_bytes
from peer.sealed_mail import NOT_OPENED, NOT_SEALED, SEALED_PREFIX, SealedMail
from wire.keys import key_text
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


def test_a_key_nothing_can_be_sealed_to_raises_the_one_noise_error() -> None:
    import pytest

    from net.noise import NoiseError

    bad = SealedMail(ALICE, lambda name: Entry(name, "10.0.0.9", 1, False, key_text(bytes(32))))
    with pytest.raises(NoiseError):
        bad.sealed(SaveMessage("a-1", "alice", "tok", "bob", "hi"))


def test_a_message_sealed_by_the_key_pinned_for_its_sender_opens_after_they_moved() -> None:
    """alice saved a message for bob, then moved her name to a new key (a new machine), or
    the registry lost its table: it is still from the alice bob talked with, whose key he
    pinned then."""
    save = sealed_save("written on my old laptop")
    chat = Chat(save.id, "alice", "bob", save.text)
    moved = {**TABLE, "alice": TABLE["alice"]._replace(key=key_text(public_bytes(MALLORY)))}
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
