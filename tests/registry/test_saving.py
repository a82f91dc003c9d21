"""registry/core/posts.py alone: saves for peers that may be offline, and their outcomes."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.pushes import Flight
from registry.core.requests import Request
from tests.registry.parts_helpers import T0, TOKEN, claimed, logs, parts, record, refusals, sent
from wire.messages import Ack, ChannelMessage, Chat, Notice, Saved, SaveMessage


def save(to: str, id: str = "alice-1", text: str = "hi") -> SaveMessage:
    return SaveMessage(id, "alice", TOKEN, to, text)


def test_a_save_for_an_offline_peer_is_kept_and_its_sender_told() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, key="ka")
    record(p.s, "bob", 7002, online=False)
    out: list[ra.Action] = []
    claimed(p.s, p.posts.save, save("bob"), Request("alice-1", alice.addr, "ka"), T0, out.append)
    messages = [m for _, m in sent(out)]
    assert isinstance(messages[0], Ack) and messages[1] == Saved("r-2", "alice-1", "bob", False, "")
    assert [m.id for m in p.post.boxes["bob"]] == ["alice-1"]
    p.s.pushes.clear_acked([messages[1].id], alice.addr, T0)  # the outcome arrived
    again: list[ra.Action] = []
    claimed(
        p.s, p.posts.save, save("bob"), Request("alice-1", alice.addr, "ka"), T0 + 1, again.append
    )
    assert [type(m) for _, m in sent(again)] == [Saved] and len(p.post.boxes["bob"]) == 1


def test_a_save_for_an_online_peer_is_delivered_by_the_registry() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, key="ka")
    bob = record(p.s, "bob", 7002)
    out: list[ra.Action] = []
    claimed(p.s, p.posts.save, save("bob"), Request("alice-1", alice.addr, "ka"), T0, out.append)
    assert (bob.addr, Chat("alice-1", "alice", "bob", "hi", "ka")) in sent(out)
    _, answered = p.s.pushes.clear_acked(["alice-1"], bob.addr, T0)
    done: list[ra.Action] = []
    p.posts.delivered(answered, T0, done.append)
    assert "delivered message from alice to bob itself" in logs(done)
    [(_, outcome)] = sent(done)
    assert isinstance(outcome, Saved) and outcome.delivered


def test_an_unknown_recipient_or_a_text_too_long_is_refused() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, key="ka")
    out: list[ra.Action] = []
    claimed(p.s, p.posts.save, save("nobody"), Request("alice-1", alice.addr, "ka"), T0, out.append)
    claimed(
        p.s,
        p.posts.save,
        save("alice", "alice-2", "x" * 100_000),
        Request("alice-2", alice.addr, "ka"),
        T0,
        out.append,
    )
    assert [r.reply_to for r in refusals(out)] == ["alice-1", "alice-2"]


def test_what_no_peer_acks_goes_to_its_mailbox_but_notices() -> None:
    p = parts()
    bob = record(p.s, "bob", 7002, online=False)
    out: list[ra.Action] = []
    relay = ChannelMessage("c-1", "carol", "all")
    p.posts.undelivered(bob, Flight(relay, "relay"), T0, out.append)
    p.posts.undelivered(bob, Flight(Notice("r-7", "x"), "notice", 1), T0, out.append)
    assert [m.id for m in p.post.boxes["bob"]] == ["c-1"]


def test_a_saved_message_keeps_the_key_its_save_came_with_stored_or_delivered() -> None:
    # the key that sealed it (peer/core/sealed_mail.py), by which its recipient knows its sender
    p = parts()
    alice = record(p.s, "alice", 7001, key="ka")
    bob = record(p.s, "bob", 7002)
    record(p.s, "carol", 7003, online=False)
    out: list[ra.Action] = []
    claimed(p.s, p.posts.save, save("carol"), Request("alice-1", alice.addr, "ka"), T0, out.append)
    assert [m.saved_by for m in p.post.boxes["carol"]] == ["ka"]
    claimed(
        p.s,
        p.posts.save,
        save("bob", "alice-2"),
        Request("alice-2", alice.addr, "ka"),
        T0,
        out.append,
    )
    [chat] = [m for a, m in sent(out) if a == bob.addr]
    assert isinstance(chat, Chat) and chat.saved_by == "ka"
    # bob did not ack it: it goes to his mailbox with the key all the same
    p.posts.undelivered(bob, Flight(chat, "probe"), T0, out.append)
    assert [(m.id, m.saved_by) for m in p.post.boxes["bob"]] == [("alice-2", "ka")]
    assert any(isinstance(a, ra.StoreMail) and a.message.saved_by == "ka" for a in out)
