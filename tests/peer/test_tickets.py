"""Mailbox tickets at the peer (Tickets, peer/core/shared.py): ours rides on direct messages to each
key we write to until one is acked; one handed us by a direct message of its owner's is
kept, and shown with our saves for that owner; nothing else is taken for one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peer.adapter.state import PeerStateFile
from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.sealed_mail import SealedMail
from peer.core.shared import TICKETS_KEPT, Tickets
from secure.noise import public_bytes
from secure.tickets import ticket
from tests.peer.core_kit import BOB, BOBS, ME, SERVER, T0, sent
from tests.peer.honest import REGISTRY_KEY, peer_key
from wire.keys import key_text
from wire.messages import Ack, Chat, Entry, Register, SaveMessage, Welcome

pytestmark = pytest.mark.timeout(30)

SECRET = "5" * 32


def welcomed(core: PeerCore, secret: str, now: float = T0) -> list[pa.Action]:
    """`core` registered by a Welcome giving `secret` for its tickets."""
    register = next(m for m in sent(core.start(now)) if isinstance(m, Register))
    entries = (Entry("alice", *ME, True), Entry("bob", *BOB, True, BOBS))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, entries, (), (), tickets=secret)
    return core.receive(welcome, SERVER, REGISTRY_KEY, now)


def alice(**options: object) -> PeerCore:
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        registry_key=REGISTRY_KEY,
        **options,  # type: ignore[arg-type]
    )
    welcomed(core, SECRET)
    return core


def chat_sent(core: PeerCore, line: str, now: float = T0) -> Chat:
    [chat] = [m for m in sent(core.line(line, now)) if isinstance(m, Chat)]
    return chat


def test_our_ticket_rides_on_direct_messages_to_a_key_until_one_is_acked() -> None:
    core = alice()
    first = chat_sent(core, "send bob hi")
    assert first.ticket == ticket(SECRET, BOBS)
    assert chat_sent(core, "send bob again").ticket == first.ticket  # not acked yet
    core.receive(Ack("b-1", first.id), BOB, peer_key("bob"), T0 + 0.01)
    assert chat_sent(core, "send bob and again").ticket == ""
    # a new secret (a new key of ours): handed again
    core.tickets.learn("6" * 32)
    assert chat_sent(core, "send bob once more").ticket == ticket("6" * 32, BOBS)


def test_no_ticket_is_handed_before_the_registry_gave_a_secret() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    welcomed(core, "")
    assert chat_sent(core, "send bob hi").ticket == ""


def test_a_ticket_handed_by_a_direct_message_is_kept_and_given_back_at_the_next_start() -> None:
    core = alice()
    bobs = "B" * 43
    out = core.receive(Chat("b-7", "bob", "alice", "hi", ticket=bobs), BOB, peer_key("bob"), T0)
    assert pa.Keep("tickets", json.dumps({BOBS: bobs})) in out
    assert core.tickets.for_owner(BOBS) == bobs
    again = alice(tickets={BOBS: bobs})
    assert again.tickets.for_owner(BOBS) == bobs


def test_nothing_but_a_plausible_ticket_from_its_owners_own_message_is_kept() -> None:
    core = alice()
    # delivered by the registry (saved_by): not the owner's own word
    delivered = Chat("b-8", "bob", "alice", "hi", saved_by=BOBS, ticket="B" * 43)
    core.receive(delivered, SERVER, REGISTRY_KEY, T0)
    # not a ticket: too short, or not base64
    core.receive(Chat("b-9", "bob", "alice", "hi", ticket="B" * 42), BOB, peer_key("bob"), T0)
    core.receive(Chat("b-10", "bob", "alice", "hi", ticket="é" * 43), BOB, peer_key("bob"), T0)
    assert core.tickets.held == {}


def test_tickets_kept_are_bounded_the_oldest_dropped() -> None:
    tickets = Tickets()
    out: list[pa.Action] = []
    for n in range(TICKETS_KEPT + 3):
        tickets.keep_handed(f"{n:043d}", "T" * 43, out.append)
    assert len(tickets.held) == TICKETS_KEPT and f"{0:043d}" not in tickets.held
    assert tickets.for_owner(f"{TICKETS_KEPT + 2:043d}") == "T" * 43


def test_a_save_sealed_for_an_owner_shows_the_ticket_that_owner_handed_us() -> None:
    ours, bobs = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    bob_text = key_text(public_bytes(bobs))
    tickets = Tickets({bob_text: "B" * 43})
    table = {"bob": Entry("bob", *BOB, False, bob_text), "carol": Entry("carol", *BOB, False, "")}
    mail = SealedMail(ours, table.get, ticket=tickets.for_owner)
    sealed = mail.sealed(SaveMessage("a-1", "alice", "tok", "bob", "hi"))
    assert sealed is not None and sealed.ticket == "B" * 43 and sealed.key == bob_text
    table["bob"] = Entry("bob", *BOB, False, key_text(public_bytes(ours)))  # a new key
    sealed = mail.sealed(SaveMessage("a-2", "alice", "tok", "bob", "hi"))
    assert sealed is not None and sealed.ticket == ""


def test_tickets_are_kept_in_the_names_folder_and_move_with_a_rename(tmp_path: Path) -> None:
    state = PeerStateFile(tmp_path, "alice")
    assert state.load_tickets() == {}
    state.keep("tickets", json.dumps({BOBS: "B" * 43}))
    assert PeerStateFile(tmp_path, "alice").load_tickets() == {BOBS: "B" * 43}
    moved = state.moved_to("alicia", "tok")
    assert moved.load_tickets() == {BOBS: "B" * 43}
    moved.tickets_path.write_text("[not a map]")
    assert moved.load_tickets() == {}
