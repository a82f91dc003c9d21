"""registry/core/room_requests.py alone: joining, leaving, saying a line, the history replayed."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.requests import Request
from registry.core.table import Record
from tests.registry.parts_helpers import (
    T0,
    TOKEN,
    Parts,
    claimed,
    logs,
    parts,
    record,
    refusals,
    sent,
)
from wire.messages import Ack, Join, Leave, RoomMessage, RoomNotice, RoomPost, RoomsRequest


def join(p: Parts, who: Record, room: str, n: int = 1) -> list[ra.Action]:
    out: list[ra.Action] = []
    msg = Join(f"{who.name}-j{n}", who.name, TOKEN, room)
    claimed(p.s, p.rooms.join, msg, Request(msg.id, who.addr, who.key), T0, out.append)
    return out


def test_a_join_tells_the_joiner_who_is_there_and_the_members_who_came() -> None:
    p = parts()
    alice, bob = record(p.s, "alice", 7001), record(p.s, "bob", 7002)
    join(p, alice, "lobby")
    out = join(p, bob, "lobby")
    said = [(addr, m.text) for addr, m in sent(out) if isinstance(m, RoomNotice)]
    assert said == [(bob.addr, "You joined lobby with alice"), (alice.addr, "bob joined lobby")]
    assert any(isinstance(a, ra.SaveTable) for a in out)
    assert [type(m) for _, m in sent(join(p, bob, "lobby"))] == [Ack]  # its copy: only acked


def test_a_line_is_kept_relayed_and_replayed_to_who_joins_later() -> None:
    p = parts()
    alice, bob, carol = (
        record(p.s, "alice", 7001),
        record(p.s, "bob", 7002),
        record(p.s, "carol", 7003),
    )
    join(p, alice, "lobby")
    join(p, bob, "lobby")
    out: list[ra.Action] = []
    post = RoomPost("alice-1", "alice", TOKEN, "lobby", "hello")
    claimed(p.s, p.posts.room, post, Request(post.id, alice.addr), T0, out.append)
    assert [(addr, m.text) for addr, m in sent(out) if isinstance(m, RoomMessage)] == [
        (bob.addr, "hello")
    ]
    assert any(isinstance(a, ra.KeepHistory) for a in out)
    later = join(p, carol, "lobby")
    [replayed] = [m for _, m in sent(later) if isinstance(m, RoomMessage)]
    assert replayed.id == "alice-1" and replayed.history and carol.replaying == "alice-1"
    p.rooms.acked(carol.addr, p.s.pushes.clear_acked(["alice-1"], carol.addr, T0)[1])
    assert carol.replaying == "" and not p.rooms.replaying


def test_a_full_room_refuses_a_join_and_takes_one_again_when_someone_leaves() -> None:
    p = parts()
    members = [record(p.s, f"m{n}", 7100 + n) for n in range(200)]  # the guide says 200
    for member in members:
        join(p, member, "lobby")
    late = record(p.s, "late", 7001)
    reasons = [r.reason for r in refusals(join(p, late, "Lobby"))]
    assert reasons == ["lobby is full (200 members, the most a room holds)."]
    assert not late.room and len(p.rooms.rooms.get("lobby").members) == 200  # type: ignore[union-attr]
    out: list[ra.Action] = []
    leave = Leave("m0-l", "m0", TOKEN)
    claimed(p.s, p.rooms.leave, leave, Request(leave.id, members[0].addr), T0, out.append)
    assert refusals(join(p, late, "lobby", n=2)) == [] and late.room == "lobby"


def test_a_line_for_a_room_the_sender_is_not_in_is_refused() -> None:
    p = parts()
    alice = record(p.s, "alice", 7001)
    out: list[ra.Action] = []
    post = RoomPost("alice-1", "alice", TOKEN, "lobby", "hello")
    claimed(p.s, p.posts.room, post, Request(post.id, alice.addr), T0, out.append)
    assert [r.reason for r in refusals(out)] == ["You are not in lobby."]


def test_leaving_tells_the_members_who_stay_and_a_listing_counts_them() -> None:
    p = parts()
    alice, bob = record(p.s, "alice", 7001), record(p.s, "bob", 7002)
    join(p, alice, "lobby")
    join(p, bob, "lobby")
    listed: list[ra.Action] = []
    p.rooms.listing(RoomsRequest("q-1"), Request("q-1", alice.addr), T0, listed.append)
    [(_, rooms)] = sent(listed)
    assert (rooms.rooms, rooms.counts) == (("lobby",), (2,))
    out: list[ra.Action] = []
    claimed(
        p.s, p.rooms.leave, Leave("bob-l", "bob", TOKEN), Request("bob-l", bob.addr), T0, out.append
    )
    assert [(a, m.text) for a, m in sent(out) if isinstance(m, RoomNotice)] == [
        (alice.addr, "bob left lobby")
    ]
    assert "bob left room lobby (1 in it)" in logs(out)
