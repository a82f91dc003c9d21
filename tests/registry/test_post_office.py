"""registry/core/post_office.py alone: mailboxes kept with their owners, and their hand-over."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.actions import Owner
from registry.core.post_office import PostOffice
from registry.core.requests import NO_ORIGIN, Request
from registry.core.table import owner_of
from tests.registry.parts_helpers import T0, TOKEN, claimed, logs, record, sent, services, unstamped
from wire.messages import Ack, MailTaken, MoreMail, StoredMessage


def test_a_message_kept_keeps_its_box_s_owner_beside_it() -> None:
    s = services()
    post = PostOffice(s, {}, {}, 10)
    bob = record(s, "bob", 7002, online=False, key="kb")
    out: list[ra.Action] = []
    assert post.store(bob, unstamped("a-1", "alice", "hi"), NO_ORIGIN, T0, out.append) == ""
    assert [a for a in out if isinstance(a, ra.KeepOwner)] == [ra.KeepOwner("bob", owner_of(bob))]
    again: list[ra.Action] = []
    post.store(bob, unstamped("a-2", "alice", "more"), NO_ORIGIN, T0, again.append)
    assert not any(isinstance(a, ra.KeepOwner) for a in again)  # unchanged: not kept again


def test_the_hand_over_goes_on_until_the_box_is_empty() -> None:
    s = services()
    post = PostOffice(s, {}, {}, 10)
    bob = record(s, "bob", 7002, key="kb")
    post.store(bob, unstamped("a-1", "alice", "hi"), NO_ORIGIN, T0, [].append)
    post.store(bob, unstamped("a-2", "alice", "ho"), NO_ORIGIN, T0, [].append)

    def taken(number: int, ids: tuple[str, ...]) -> list[ra.Action]:
        """bob says he took `ids`, in his request `number`: what the post office answers."""
        out: list[ra.Action] = []
        msg = MailTaken(f"bob-{number}", "bob", TOKEN, ids)
        claimed(s, post.taken, msg, Request(msg.id, bob.addr, "kb"), T0, out.append)
        return out

    [(_, more)] = sent(taken(5, ("a-1",)))
    assert isinstance(more, MoreMail) and [m.id for m in more.mail] == ["a-2"]
    done = taken(6, ("a-2",))
    assert isinstance(sent(done)[0][1], Ack) and post.boxes == {}


def test_a_box_without_a_row_gets_it_back_from_its_owner() -> None:
    s = services()
    kept = StoredMessage("a-1", "alice", "hi", "2024-01-01 00:00:00", "direct")
    owner = Owner("Bob", "kb", "sha256:x", "", "127.0.0.1", 7002)
    post = PostOffice(s, {"bob": [kept], "zed": [kept]}, {"bob": owner}, 10)
    bob = s.table.get("bob")
    assert bob is not None and not bob.online and bob.key == "kb"
    assert s.table.get("zed") is not None  # kept for nobody: only the console releases it
    started: list[ra.Action] = []
    post.start(started.append)
    said = logs(started)
    assert len(said) == 2 and "(Bob)" in said[0] and "(zed)" in said[1]
    assert isinstance(started[-1], ra.SaveTable)


def test_a_box_follows_a_rename_and_goes_with_a_release() -> None:
    s = services()
    post = PostOffice(s, {}, {}, 10)
    bob = record(s, "bob", 7002, online=False)
    post.store(bob, unstamped("a-1", "alice", "hi"), NO_ORIGIN, T0, [].append)
    bob.name = "robert"
    out: list[ra.Action] = []
    post.moved("bob", bob, out.append)
    assert ra.MoveMail("bob", "robert") in out and list(post.boxes) == ["robert"]
    assert post.dropped("robert", [].append) == 1 and post.boxes == {}
