"""registry/core/posts.py alone: the channel, and the outcome of a relay told once it is over."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.requests import Request
from tests.registry.parts_helpers import T0, TOKEN, claimed, logs, parts, record, sent
from wire.keys import key_text
from wire.messages import Ack, ChannelMessage, ChannelPost, Relayed


def test_a_channel_message_goes_to_the_online_and_the_offline_s_mailboxes() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, key="ka")
    bob = record(p.s, "bob", 7002)
    record(p.s, "carol", 7003, online=False)
    out: list[ra.Action] = []
    claimed(
        p.s,
        p.posts.channel,
        ChannelPost("alice-1", "alice", TOKEN, "all"),
        Request("alice-1", alice.addr, "ka"),
        T0,
        out.append,
    )
    assert (bob.addr, ChannelMessage("alice-1", "alice", "all")) in sent(out)
    assert [m.id for m in p.post.boxes["carol"]] == ["alice-1"]
    assert (alice.addr, Ack("r-1", "alice-1")) in sent(out)
    assert "channel message from alice relayed to 1 online, saved in 1 mailbox(es)" in logs(out)
    # the online first: a send waits only for what was stored before it (GroupCommit)
    kinds = [type(a) for a in out if not isinstance(a, ra.Log)]
    assert kinds.index(ra.Send) < kinds.index(ra.StoreMail)
    assert [m for _, m in sent(out)][-1] == Ack("r-1", "alice-1")  # the answer waits


def test_a_channel_message_kept_for_many_offline_makes_one_log_line() -> None:
    # names are cheap (50 new ones an hour per address): a line per mailbox would let a
    # stranger's 1,000 names make every post of the channel 1,000 lines of the log
    p = parts()
    alice = record(p.s, "alice", 7001, key="ka")
    for n in range(200):
        record(p.s, f"idle{n}", 7100 + n, online=False)
    out: list[ra.Action] = []
    post = ChannelPost("alice-1", "alice", TOKEN, "all")
    claimed(p.s, p.posts.channel, post, Request("alice-1", alice.addr, "ka"), T0, out.append)
    assert logs(out) == ["channel message from alice relayed to 0 online, saved in 200 mailbox(es)"]
    assert sum(isinstance(a, ra.StoreMail) for a in out) == 200


def test_the_sender_is_told_once_every_member_has_it() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, key="ka")
    bob = record(p.s, "bob", 7002)
    post = ChannelPost("alice-1", "alice", TOKEN, "all")
    claimed(p.s, p.posts.channel, post, Request("alice-1", alice.addr, "ka"), T0, [].append)
    waiting: list[ra.Action] = []
    p.posts.over(waiting.append)
    claimed(
        p.s, p.posts.channel, post, Request("alice-1", alice.addr, "ka"), T0, waiting.append
    )  # a copy
    assert [type(m) for _, m in sent(waiting)] == [Ack]  # taken, its relay not over
    p.s.pushes.clear_acked(["alice-1"], bob.addr, T0)
    out: list[ra.Action] = []
    p.posts.over(out.append)
    assert [(addr, type(m)) for addr, m in sent(out)] == [(alice.addr, Relayed)]
    copy: list[ra.Action] = []
    claimed(
        p.s, p.posts.channel, post, Request("alice-1", alice.addr, "ka"), T0, copy.append
    )  # outcome lost
    assert [type(m) for _, m in sent(copy)] == [Ack, Relayed]


def test_a_relay_is_sealed_for_each_members_key_as_the_table_has_it_now() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001, key=key_text(bytes([1]) * 32))
    bob = record(p.s, "bob", 7002, key=key_text(bytes([2]) * 32))
    record(p.s, "carol", 7003, key=key_text(bytes([3]) * 32))

    def relayed(n: int, now: float) -> list[tuple[tuple[str, int], bytes]]:
        out: list[ra.Action] = []
        post = ChannelPost(f"alice-{n}", "alice", TOKEN, "all")
        claimed(
            p.s, p.posts.channel, post, Request(post.id, alice.addr, alice.key), now, out.append
        )
        (many,) = [a for a in out if isinstance(a, ra.SendMany)]
        for addr in many.addrs:  # acked, so the next one is relayed at once too
            p.s.pushes.clear_acked((post.id,), addr, now)
        return list(zip(many.addrs, many.keys, strict=True))

    first = relayed(1, T0)
    assert first == [(("127.0.0.1", 7002), bytes([2]) * 32), (("127.0.0.1", 7003), bytes([3]) * 32)]
    assert relayed(2, T0 + 0.1) == first  # the same members, their keys looked up once
    bob.key = key_text(bytes([4]) * 32)  # bob started again with another key
    p.s.feed.changed(bob, T0 + 0.2, [].append)
    assert relayed(3, T0 + 0.3)[0] == (bob.addr, bytes([4]) * 32)
