"""PeerCore carries out typed lines in the order typed, even when one changes what the next
means (a join, a rename, a dereg or a reg) and the next comes before the registry answers:
a quick hand, or a script piped in."""

from __future__ import annotations

import pytest

from peer.core import actions as pa
from peer.core.direct import RECEIVED_BY
from peer.core.dispatch import PeerCore
from peer.core.leaving import OFFLINE_BYE
from peer.core.request_ends import KEPT_IN_OUTBOX
from peer.core.shared import NO_USER
from peer.core.table_news import NOW_KNOWN_AS
from tests.peer.core_kit import (
    BOB,
    BOBS,
    DIRECT_ROUND,
    ROUND,
    SERVER,
    T0,
    prints,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY, honest_key
from tests.peer.parts_kit import logged
from tests.peer.retry_rule import heard_for
from wire.messages import (
    Ack,
    Busy,
    ChannelPost,
    Chat,
    Deregister,
    Entry,
    Join,
    Leave,
    Refused,
    Register,
    Rename,
    RoomMessage,
    RoomNotice,
    RoomPost,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    Welcome,
)
from wire.refusals import RefusalCode


def in_room_r() -> PeerCore:
    """A registered peer that joined room r (its join answered)."""
    core, _ = registered()
    [join] = sent(core.line("join r", T0))
    core.receive(Ack("r-5", join.id), SERVER, REGISTRY_KEY, T0 + 0.001)
    return core


def test_a_line_typed_right_after_join_is_said_in_the_room() -> None:
    core, _ = registered()
    [join] = sent(core.line("join fastroom", T0))
    assert isinstance(join, Join)
    out = core.line("typed right after join", T0)
    assert sent(out) == [] and prints(out) == []  # not "Not a command": it waits
    out = core.receive(Ack("r-5", join.id), SERVER, REGISTRY_KEY, T0 + 0.001)
    [post] = sent(out)
    assert isinstance(post, RoomPost) and (post.room, post.text) == (
        "fastroom",
        "typed right after join",
    )


def test_a_join_whose_ack_is_lost_is_done_by_the_rooms_notice() -> None:
    # found by the e2e suite under load: the registry, killed just after its notice "You
    # joined r" and before the join's ack, left the peer saying the join failed and taking
    # the next line as a command, while the restarted registry had it in the room
    core, _ = registered()
    [join] = sent(core.line("join r", T0))
    notice = RoomNotice("r-5", "r", "You joined r with bob")
    out = core.receive(notice, SERVER, REGISTRY_KEY, T0 + 0.001)
    assert prints(out) == ["[You joined r with bob]"]
    assert pa.AcksLater(SERVER, REGISTRY_KEY, ["r-5"]) in out  # the notice's ack
    end = T0 + heard_for(2)  # a second round: the registry was heard from in the first
    out = run_until(core, end)  # the ack never comes: its give-up is taken as the ack
    assert not any("not responding" in line or "unavailable" in line for line in prints(out))
    assert core.state.room == "r"
    [post] = sent(core.line("still in r", end))
    assert isinstance(post, RoomPost) and post.room == "r"
    assert (
        sent(core.receive(Ack("r-6", join.id), SERVER, REGISTRY_KEY, end + 0.1)) == []
    )  # late: a copy


def test_lines_typed_after_a_join_are_carried_out_after_the_rooms_history() -> None:
    # found by trying it: `printf 'join lobby\nleave\n' | ChatApp -c ...` showed the
    # history after "[You left lobby.]": the notice before the history was taken as the
    # join's answer, and the leave carried out on it
    core, _ = registered()
    [join] = sent(core.line("join lobby", T0))
    assert sent(core.line("leave", T0)) == []
    notice = RoomNotice("r-5", "lobby", "You joined lobby with bob")
    history = RoomMessage("b-1", "bob", "lobby", "said before", "2026-11-21 10:00:00", True)
    out = core.receive(notice, SERVER, REGISTRY_KEY, T0 + 0.001)
    out += core.receive(history, SERVER, REGISTRY_KEY, T0 + 0.001)
    assert not any(isinstance(m, Leave) for m in sent(out))  # the leave waits for the ack
    out += core.receive(Ack("r-6", join.id), SERVER, REGISTRY_KEY, T0 + 0.002)
    assert prints(out) == [
        "[You joined lobby with bob]",
        "[history 2026-11-21 10:00] bob (in lobby): said before",
        "[You left lobby.]",
    ]
    assert any(isinstance(m, Leave) for m in sent(out))


def test_a_leave_typed_while_a_room_line_is_on_its_way_waits_for_the_registry_to_take_it() -> None:
    # Found by the rooms property: ann's line was lost once, she typed /leave, and the
    # leave reached the registry before the line's next copy, which was refused "You are
    # not in r" though typed in r
    core = in_room_r()
    [post] = sent(core.line("said before leaving", T0 + 1))
    assert isinstance(post, RoomPost)
    out = core.line("/leave", T0 + 1)
    assert prints(out) == ["[You left r.]"] and sent(out) == []  # left here at once
    [leave] = sent(core.receive(Ack("r-6", post.id), SERVER, REGISTRY_KEY, T0 + 1.6))
    assert isinstance(leave, Leave)


def test_a_leave_does_not_wait_for_a_room_line_asked_again_for_its_outcome() -> None:
    # the registry took the line (its ack came): its place in the order is settled, and
    # asking again whether everyone had it holds nothing back
    core = in_room_r()
    [post] = sent(core.line("said before leaving", T0 + 1))
    core.receive(Ack("r-6", post.id), SERVER, REGISTRY_KEY, T0 + 1.001)
    asked = [m for m in sent(run_until(core, T0 + 12)) if isinstance(m, RoomPost)]
    assert {m.id for m in asked} == {post.id}  # its outcome is overdue: asked again
    [leave] = sent(core.line("/leave", T0 + 12))
    assert isinstance(leave, Leave)


def test_a_history_replayed_again_by_a_restarted_registry_is_shown_once() -> None:
    # the registry, killed while it replayed lobby's history to us, replays it again at
    # its restart (RegistryCore.start): a typed join shows the last lines, but once
    core, _ = registered()
    history = RoomMessage("b-1", "bob", "lobby", "said before", "2026-11-21 10:00:00", True)
    core.receive(
        RoomMessage("b-1", "bob", "lobby", "said before", "", False), SERVER, REGISTRY_KEY, T0
    )
    *_, join = sent(core.line("join lobby", T0))
    out = core.receive(history, SERVER, REGISTRY_KEY, T0 + 0.001)
    out += core.receive(Ack("r-6", join.id), SERVER, REGISTRY_KEY, T0 + 0.002)
    out += core.receive(history, SERVER, REGISTRY_KEY, T0 + 3)
    assert prints(out) == ["[history 2026-11-21 10:00] bob (in lobby): said before"]


def test_dereg_then_the_end_of_input_exits_once_offline() -> None:
    core, _ = registered()
    [dereg] = sent(core.line("dereg alice", T0))
    assert isinstance(dereg, Deregister) and not dereg.quitting
    assert pa.ExitPeer(0) not in core.end_of_input(T0)
    out = core.receive(Ack("r-5", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.001)
    assert OFFLINE_BYE in prints(out)
    assert pa.ExitPeer(0) in out


def test_a_script_of_dereg_reg_send_and_nick_runs_in_order() -> None:
    core, _ = registered()
    [dereg] = sent(core.line("dereg alice", T0))
    for line in ("reg alice", "send bob after reg", "/nick alicia", "send bob after nick"):
        assert sent(core.line(line, T0)) == []
    out = core.receive(Ack("r-5", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.01)
    [register] = sent(out)
    assert isinstance(register, Register)
    assert "[You are already registered.]" not in prints(out)
    own = (Entry("alice", "127.0.0.1", 6001, True),)
    welcome = Welcome("r-6", register.id, "alice", "tok", 4, own, (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0 + 0.02)
    # the table of this Welcome holds alice alone: bob is unknown, which is said in order
    assert NO_USER.format("bob", "who") in prints(out)
    [rename] = [m for m in sent(out) if isinstance(m, Rename)]
    out = core.receive(Ack("r-7", rename.id), SERVER, REGISTRY_KEY, T0 + 0.03)
    assert NOW_KNOWN_AS.format("alicia") in prints(out)
    assert prints(out).index(NOW_KNOWN_AS.format("alicia")) < prints(out).index(
        NO_USER.format("bob", "who")
    )


def test_lines_wait_no_longer_than_the_change_does() -> None:
    core, _ = registered()
    core.line("join lobby", T0)  # the registry does not answer
    out = core.line("send bob still goes", T0)
    assert sent(out) == []
    out = run_until(core, T0 + ROUND + 0.1)  # the join is given up after five tries
    [chat] = [m for m in sent(out) if isinstance(m, Chat)]
    assert chat.text == "still goes"
    assert RECEIVED_BY.format("bob") in prints(
        core.receive(
            Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0 + ROUND + 0.2
        )
    )


def test_lines_still_waiting_when_the_user_leaves_at_once_are_named() -> None:
    core, _ = registered()
    core.line("join lobby", T0)
    core.line("hello lobby", T0)
    assert "[Not carried out, as you left at once: hello lobby]" in prints(core.leave_now())


def started_with_a_script(*lines: str, room: str = "") -> tuple[PeerCore, list[pa.Action]]:
    """A peer whose whole input (`lines`, then its end) came before its Welcome, as a
    script piped in does; `room` is the room it was in when it last stopped."""
    core = PeerCore(
        name="alice", port=6001, server=SERVER, session="a", room=room, registry_key=REGISTRY_KEY
    )
    [register] = sent(core.start(T0))
    for line in lines:
        core.line(line, T0)
    core.end_of_input(T0)
    entries = (Entry("alice", "127.0.0.1", 6001, True), Entry("bob", *BOB, True))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, entries, (), ())
    return core, core.receive(welcome, SERVER, REGISTRY_KEY, T0 + 0.01)


def test_a_script_of_only_dereg_exits_once_offline() -> None:
    # found by trying it: `printf 'dereg zed\n' | ChatApp -c zed ...` never exited
    core, out = started_with_a_script("dereg alice")
    [dereg] = sent(out)
    assert isinstance(dereg, Deregister) and not dereg.quitting
    out = core.receive(Ack("r-5", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.02)
    assert OFFLINE_BYE in prints(out) and pa.ExitPeer(0) in out


def test_a_script_after_a_rename_runs_before_it_quits() -> None:
    core, out = started_with_a_script("/nick alicia", "send bob after nick")
    [rename] = sent(out)
    assert isinstance(rename, Rename)
    out = core.receive(Ack("r-5", rename.id), SERVER, REGISTRY_KEY, T0 + 0.02)
    [chat] = sent(out)  # sent under the new name; the quit waits for its ack
    assert isinstance(chat, Chat) and (chat.sender, chat.text) == ("alicia", "after nick")
    out = core.receive(
        Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0 + 0.03
    )
    [dereg] = sent(out)
    assert isinstance(dereg, Deregister) and dereg.quitting


def test_a_script_run_by_a_peer_whose_last_run_ended_in_a_room_runs_outside_it() -> None:
    # Found by trying it: the same script did other things on its second run, as its peer
    # went back to the room the first run ended in, and `send dan ...`, a private line,
    # was said to the whole room. Lines typed before the Welcome were typed in no room.
    _, out = started_with_a_script("/dm bob from a script", "send bob private", room="team")
    assert not any(isinstance(m, Join) for m in sent(out))
    assert "[You were in team when you left; /join team goes back there.]" in prints(out)
    assert pa.Keep("room", "") in out
    chat, private = sent(out)
    assert isinstance(chat, Chat) and chat.text == "from a script"
    assert isinstance(private, Chat) and private.text == "private"
    assert not any(isinstance(m, RoomPost) for m in sent(out))


def test_a_leave_join_or_dereg_typed_after_a_long_room_line_waits_for_it() -> None:
    # Found by trying it: two pasted 1500-character lines then /leave: the leave, a small
    # datagram, overtook the lines (over TCP), which the registry then refused as "You
    # are not in teamchat". The same with /join or dereg after a long line.
    core, _ = registered()
    [join] = sent(core.line("join team", T0))
    core.receive(Ack("r-5", join.id), SERVER, REGISTRY_KEY, T0 + 0.001)
    long_line = "y" * 1500
    [post] = sent(core.line(long_line, T0 + 1))
    assert isinstance(post, RoomPost) and post.text == long_line
    for line in ("/leave", "join other", "/dereg alice"):
        assert not any(
            isinstance(m, Join | Deregister) or type(m).__name__ == "Leave"
            for m in sent(core.line(line, T0 + 1))
        ), line
    out = core.receive(Ack("r-6", post.id), SERVER, REGISTRY_KEY, T0 + 1.1)
    [leave] = sent(out)  # now; the join waits for the leave's answer, the dereg for the join's
    assert type(leave).__name__ == "Leave"
    [join] = sent(core.receive(Ack("r-7", leave.id), SERVER, REGISTRY_KEY, T0 + 1.15))
    assert isinstance(join, Join) and join.room == "other"
    [dereg] = sent(core.receive(Ack("r-8", join.id), SERVER, REGISTRY_KEY, T0 + 1.2))
    assert isinstance(dereg, Deregister)


def test_a_join_typed_right_after_a_leave_goes_once_the_leave_is_answered() -> None:
    # Found by the rooms property, once it typed /leave then /join r: sent together, the
    # join reached the registry first (or the leave was lost, and sent again), was answered
    # as one for the room ann was in, and the leave then took her out: she typed in r,
    # and each line was refused "You are not in r"
    core = in_room_r()
    [leave] = sent(core.line("/leave", T0 + 1))
    assert sent(core.line("/join r", T0 + 1)) == []
    out = core.receive(Ack("r-6", leave.id), SERVER, REGISTRY_KEY, T0 + 1.001)
    [again] = sent(out)
    assert isinstance(again, Join) and again.room == "r"
    core.receive(Ack("r-7", again.id), SERVER, REGISTRY_KEY, T0 + 1.002)
    # the registry does not answer the next leave: the join is carried out once the leave
    # is given up on (kept in the outbox), and finds the registry away
    [leave] = sent(core.line("/leave", T0 + 2))
    assert sent(core.line("/join r", T0 + 2)) == []
    out = run_until(core, T0 + 10)
    assert not any(isinstance(m, Join) for m in sent(out))
    rooms_away = "[Rooms are unavailable while the registry does not answer; direct messages"
    assert prints(out)[-1] == f"{rooms_away} still work.]"


def with_a_line_kept_in_team() -> tuple[PeerCore, RoomPost]:
    """A peer in room team whose line said there went unanswered: kept in the outbox, at
    T0 + 5 (the registry is away)."""
    core, _ = registered()
    [join] = sent(core.line("join team", T0))
    core.receive(Ack("r-5", join.id), SERVER, REGISTRY_KEY, T0 + 0.001)
    [post] = sent(core.line("kept line", T0 + 1))
    run_until(core, T0 + 5)  # no answer: kept in the outbox
    assert isinstance(post, RoomPost) and post in core.outbox
    return core, post


def test_a_join_typed_as_the_registry_comes_back_waits_for_the_lines_kept_meanwhile() -> None:
    # Found by trying it: a room line kept while the registry was down, then /join Lobby
    # typed just after it came back: the join went first and the kept line was refused
    # ("You are not in teamchat").
    core, post = with_a_line_kept_in_team()
    out = core.line("/join lobby", T0 + 5)
    assert "[Joining lobby once the lines you typed in team are sent.]" in prints(out)
    assert not any(isinstance(m, Join) for m in sent(out))
    out = core.receive(Ack("r-6", post.id), SERVER, REGISTRY_KEY, T0 + 5.1)  # the registry is back
    [lobby] = [m for m in sent(out) if isinstance(m, Join)]
    assert lobby.room == "lobby"


def test_a_line_typed_after_a_join_that_waits_for_kept_lines_is_said_in_the_room_joined() -> None:
    # Found by trying it: with the registry down, a line typed in team, then /join lobby
    # ("Joining lobby once the lines you typed in team are sent."), then a line meant
    # for lobby: it was said in team once the registry came back.
    core, post = with_a_line_kept_in_team()
    core.line("/join lobby", T0 + 5)
    out = core.line("line for lobby", T0 + 5)
    assert sent(out) == [] and "[Kept; said in lobby once you are in it.]" in prints(out)
    out = core.receive(Ack("r-6", post.id), SERVER, REGISTRY_KEY, T0 + 5.1)  # the registry is back
    [lobby] = [m for m in sent(out) if isinstance(m, Join)]
    assert not any(isinstance(m, RoomPost) and m.room == "lobby" for m in sent(out))
    out = core.receive(Ack("r-7", lobby.id), SERVER, REGISTRY_KEY, T0 + 5.2)
    [line] = sent(out)
    assert isinstance(line, RoomPost) and (line.room, line.text) == ("lobby", "line for lobby")


def test_a_line_kept_for_a_room_whose_join_is_refused_is_given_back() -> None:
    core, post = with_a_line_kept_in_team()
    core.line("/join lobby", T0 + 5)
    core.line("line for lobby", T0 + 5)
    out = core.receive(Ack("r-6", post.id), SERVER, REGISTRY_KEY, T0 + 5.1)
    [lobby] = [m for m in sent(out) if isinstance(m, Join)]
    refusal = Refused("r-7", lobby.id, "Room lobby is full.", RefusalCode.OTHER)
    out = core.receive(refusal, SERVER, REGISTRY_KEY, T0 + 5.2)
    assert prints(out)[-2:] == [
        "[Not sent to lobby: Room lobby is full.]",
        "[Your line: line for lobby]",
    ]
    assert sent(out) == [] and list(core.outbox) == [] and core.state.room == "team"


def test_a_scripts_join_is_kept_for_the_next_start_whatever_follows_it() -> None:
    # Found by trying it: `printf 'join lobby\n' | ChatApp -c s ...` said "[You left lobby;
    # your next start goes back to it.]", but the join's ack came in the pass that began
    # the quit, the room was never kept, and the next start went back to no room.
    core, out = started_with_a_script("join lobby")
    [join] = sent(out)
    assert isinstance(join, Join)
    out = core.receive(Ack("r-5", join.id), SERVER, REGISTRY_KEY, T0 + 0.02)
    [dereg] = sent(out)
    assert isinstance(dereg, Deregister) and dereg.quitting
    assert pa.Keep("room", "lobby") in out
    out = core.receive(Ack("r-6", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.03)
    assert "[You left lobby; your next start goes back to it.]" in prints(out)
    assert (
        not any(isinstance(a, pa.Keep) and a.what == "room" for a in out) and pa.ExitPeer(0) in out
    )


def test_kept_lines_go_out_in_the_order_typed_after_a_restart() -> None:
    # Issue: kept in a room while the registry was down, "line one", "/bm channel two",
    # "line three" reached the others after the restart as channel two, line one, line
    # three: the channel message went at once, the room lines once the room was joined
    kept = (
        RoomPost("old-1", "alice", "tok", "team", "line one"),
        ChannelPost("old-2", "alice", "tok", "channel two"),
        RoomPost("old-3", "alice", "tok", "team", "line three"),
    )
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        outbox=kept,
        room="team",
        registry_key=REGISTRY_KEY,
    )
    [register] = sent(core.start(T0))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, (Entry("bob", *BOB, True),), (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    [join] = sent(out)  # only the join: nothing typed after a kept room line goes before it
    assert isinstance(join, Join) and join.room == "team"
    out = core.receive(Ack("r-2", join.id), SERVER, REGISTRY_KEY, T0 + 0.01)
    ids = [m.id for m in sent(out)]
    for n, reply_to in enumerate(("old-1", "old-2"), start=3):  # one at a time
        out = core.receive(Ack(f"r-{n}", reply_to), SERVER, REGISTRY_KEY, T0 + 0.01 * n)
        ids += [m.id for m in sent(out)]
    assert ids == ["old-1", "old-2", "old-3"]


def test_what_waits_for_the_registry_is_kept_in_the_order_typed() -> None:
    # a direct message to someone gone goes to the registry only after its 5 tries: a
    # channel line typed after it reached the outbox first, and went out first, after a
    # restart (its file) as after the registry came back
    core, _ = registered()
    core.line("send bob are you there?", T0)  # bob is gone, and so is the registry
    core.line("send_all anyone?", T0 + 0.1)
    out = run_until(core, T0 + DIRECT_ROUND + ROUND + 1)
    assert KEPT_IN_OUTBOX in prints(out)
    assert [m.text for m in core.outbox] == ["are you there?", "anyone?"]  # type: ignore[attr-defined]
    kept = logged(core.records)
    assert [m.text for m in kept] == ["are you there?", "anyone?"]  # type: ignore[attr-defined]
    # and so does a peer that leaves at once meanwhile
    core, _ = registered()
    core.line("send bob are you there?", T0)
    core.line("send_all anyone?", T0 + 0.1)
    run_until(core, T0 + 1)
    core.leave_now()
    kept = logged(core.records)
    assert [m.text for m in kept] == ["are you there?", "anyone?"]  # type: ignore[attr-defined]


def test_lines_typed_before_a_welcome_without_the_table_wait_for_the_table() -> None:
    # a big table does not come in the Welcome: a script's `send bob` waits for it, rather
    # than be told bob is unknown
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    assert core.line("send bob hi", T0) == []
    welcome = Welcome("r-1", register.id, "alice", "tok", 4, (), (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0 + 0.01)
    [ask] = [m for m in sent(out) if isinstance(m, TableRequest)]
    assert not [m for m in sent(out) if isinstance(m, Chat)]
    assert NO_USER.format("bob", "who") not in prints(out)
    rows = (Entry("alice", "127.0.0.1", 6001, True), Entry("bob", *BOB, True, BOBS))
    out = core.receive(TableSnapshot("r-2", ask.id, 4, rows, ()), SERVER, REGISTRY_KEY, T0 + 0.02)
    assert [m.text for m in sent(out) if isinstance(m, Chat)] == ["hi"]


def test_lines_typed_after_a_reg_whose_welcome_has_no_table_wait_for_the_new_one() -> None:
    # the table held from before the dereg is older than the Welcome: dave, who registered
    # meanwhile, is in the table asked for, not in that one
    core, _ = registered()
    [dereg] = sent(core.line("dereg alice", T0))
    core.receive(Ack("r-5", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.01)
    [register] = sent(core.line("reg alice", T0 + 1))
    welcome = Welcome("r-6", register.id, "alice", "tok", 9, (), (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0 + 1.01)
    [ask] = [m for m in sent(out) if isinstance(m, TableRequest)]
    out = core.line("send dave hi", T0 + 1.02)
    assert NO_USER.format("dave", "who") not in prints(out)
    rows = (Entry("alice", "127.0.0.1", 6001, True), Entry("dave", "127.0.0.1", 6004, True))
    out = core.receive(TableSnapshot("r-7", ask.id, 9, rows, ()), SERVER, REGISTRY_KEY, T0 + 1.03)
    assert [m.text for m in sent(out) if isinstance(m, Chat)] == ["hi"]


def test_lines_typed_while_the_table_is_asked_again_do_not_wait() -> None:
    # a gap too wide to be held asks for the whole table again: the table we have is
    # always a moment behind the registry's, and a line need not wait for it
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    rows = (Entry("alice", "127.0.0.1", 6001, True), Entry("bob", *BOB, True, BOBS))
    core.receive(
        Welcome("r-1", register.id, "alice", "tok", 4, rows, (), ()), SERVER, REGISTRY_KEY, T0
    )
    out = core.receive(TableUpdate("r-2", 80, ()), SERVER, REGISTRY_KEY, T0 + 0.01)  # a gap
    assert [m for m in sent(out) if isinstance(m, TableRequest)] != []
    out = core.line("send bob hi", T0 + 0.02)
    assert [m.text for m in sent(out) if isinstance(m, Chat)] == ["hi"]


def test_a_busy_for_a_late_copy_of_a_registration_keeps_the_patience_of_the_first() -> None:
    # in a join storm the registry reads copies of a registration late, and answers each
    # Busy: one that came during the wait made the next silent round a give-up
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    core.receive(Busy("r-1", register.id, 5000), SERVER, REGISTRY_KEY, T0 + 0.1)
    core.receive(Busy("r-2", register.id, 5000), SERVER, REGISTRY_KEY, T0 + 1)
    out = run_until(core, T0 + 30)
    assert not [line for line in prints(out) if "Could not register" in line]
    assert [m for m in sent(out) if isinstance(m, Register)]


@pytest.mark.parametrize("read_first", [True, False], ids=["line-first", "refusal-first"])
def test_a_script_line_is_said_not_carried_out_whether_read_before_or_after_a_refusal(
    read_first: bool,
) -> None:
    # a start refused at once may read its script's line before the refusal, or after it
    core = PeerCore(name="y", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    reason = "The name y is in use by a peer that is online."
    refused = Refused("r", register.id, reason)  # type: ignore[attr-defined]
    out: list[pa.Action] = []
    if read_first:
        out += core.line("join lobby", T0)
    out += core.receive(refused, SERVER, REGISTRY_KEY, T0 + 0.1)
    if not read_first:
        out += core.line("join lobby", T0 + 0.2)
    assert prints(out) == [
        f"[{reason}]",
        "[Not carried out, as you are not registered: join lobby]",
    ]
    assert not any(isinstance(m, Join) for m in sent(out))
    assert pa.ExitPeer(1) in core.end_of_input(T0 + 0.3)  # the adapter exits then, not later
