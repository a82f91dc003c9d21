"""Membership: joining and leaving as typed, room lines said and shown, the way back."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.room_membership import Membership
from peer.core.shared import Shared
from tests.peer.parts_kit import REGISTRY_KEY, SERVER, T0, link, prints, sent, shared
from wire.messages import (
    Ack,
    Join,
    Leave,
    Refused,
    RoomList,
    RoomMessage,
    RoomNotice,
    RoomPost,
    RoomsRequest,
)
from wire.refusals import RefusalCode


def membership(room: str = "", made: Shared | None = None) -> Membership:
    """The part, over `made` (alice's state, registered, if not given), in `room`."""
    made = shared() if made is None else made
    made.state.room = room
    return Membership(made, link(made))


def test_a_join_is_asked_and_its_answer_takes_the_registrys_spelling() -> None:
    made = shared()
    rooms, out = membership(made=made), list[pa.Action]()
    rooms.join("lobby", T0, out.append)
    join = Join("a-1", "alice", "tok", "lobby")
    assert sent(out) == [join]
    rooms.notice(RoomNotice("r-1", "Lobby", "bob is here"), out.append)
    rooms.joined(join, Ack("r-1", join.id), T0, out.append)
    assert made.state.room == "Lobby"
    assert "[bob is here]" in prints(out)


def test_a_join_of_the_room_we_are_in_or_of_no_name_is_refused_here() -> None:
    rooms, out = membership("lobby"), list[pa.Action]()
    rooms.join("LOBBY", T0, out.append)
    rooms.join("a b", T0, out.append)
    assert sent(out) == []
    assert prints(out)[0] == "[You are already in lobby.]"
    assert prints(out)[1].startswith("[Cannot join 'a b':")


def test_leaving_is_at_once_here_and_told_to_the_registry() -> None:
    made = shared()
    rooms, out = membership("lobby", made), list[pa.Action]()
    rooms.leave(T0, out.append)
    assert prints(out) == ["[You left lobby.]"] and made.state.room == ""
    assert sent(out) == [Leave("a-1", "alice", "tok")]
    rooms.leave(T0, out.append)
    assert prints(out)[-1] == "[You are not in a room. join <room> enters one.]"


def test_a_line_said_is_kept_until_settled_and_a_command_word_is_pointed_out() -> None:
    made, out = shared(), list[pa.Action]()
    made.state.room = "lobby"
    rooms = Membership(made, link(made))
    rooms.say("who", T0, out.append)
    post = RoomPost("a-1", "alice", "tok", "lobby", "who")
    assert made.settling.records == [post]
    assert out[0] == pa.SendSealed(SERVER, post, REGISTRY_KEY)
    assert prints(out) == ["[Said in lobby as text; in a room, commands need their /: /who]"]


def test_a_room_line_is_shown_once() -> None:
    rooms, out = membership("lobby"), list[pa.Action]()
    line = RoomMessage("r-5", "bob", "lobby", "hi all", "2023-11-14 22:13:20", False)
    rooms.message(line, SERVER, T0, out.append)
    rooms.message(line, SERVER, T0, out.append)
    assert prints(out) == ["bob (in lobby): hi all"]


def test_a_refused_room_line_is_said_in_full_and_takes_us_out_of_its_room() -> None:
    rooms, out = membership("lobby"), list[pa.Action]()
    post = RoomPost("a-1", "alice", "tok", "lobby", "hello")
    rooms.post_refused(post, Refused("r-1", "a-1", "You are not in lobby."), T0, out.append)
    assert prints(out) == [
        "[Not sent to lobby: You are not in lobby.]",
        "[Your line: hello]",
        "[You are no longer in lobby; /join lobby to go back.]",
    ]


def test_a_room_line_refused_as_offline_is_kept_and_we_come_back() -> None:
    made = shared()
    rooms, out = membership("lobby", made), list[pa.Action]()
    post = RoomPost("a-1", "alice", "tok", "lobby", "hello")
    refusal = Refused("r-1", "a-1", "You are offline.", RefusalCode.OFFLINE)
    rooms.post_refused(post, refusal, T0, out.append)
    assert made.settling.outbox == (post,)
    assert [type(m).__name__ for m in sent(out)] == ["Register"]


def test_the_rooms_listed_are_shown() -> None:
    rooms, out = membership("lobby"), list[pa.Action]()
    listed = RoomList("r-1", "a-1", ("lobby",), (2,))
    rooms.rooms_answered(RoomsRequest("a-1"), listed, T0, out.append)
    assert prints(out) == ["[Rooms:]", "  lobby  2 members  (you are here)"]


def test_the_rooms_listed_line_up_and_none_says_how_to_make_one() -> None:
    rooms, out = membership("teamchat"), list[pa.Action]()
    listed = RoomList("r-1", "a-1", ("lobby", "TeamChat"), (1, 12))
    rooms.rooms_answered(RoomsRequest("a-1"), listed, T0, out.append)
    assert prints(out) == [
        "[Rooms:]",
        "  lobby     1 member",
        "  TeamChat  12 members  (you are here)",
    ]
    out.clear()
    rooms.rooms_answered(RoomsRequest("a-2"), RoomList("r-2", "a-2", (), ()), T0, out.append)
    assert prints(out) == ["[No rooms yet. /join <room> makes one.]"]  # (typed in a room)


def test_rooms_heard_of_keep_the_last_spelling_heard() -> None:
    made, out = shared(), list[pa.Action]()
    rooms = membership(made=made)
    for room in ("lobby", "TeamChat", "teamchat"):
        rooms.seen_room(room)
    assert rooms.room_names() == ["lobby", "teamchat"]
    rooms.joined(Join("a-1", "alice", "tok", "TEAMCHAT"), Ack("r-1", "a-1"), T0, out.append)
    assert made.state.room == "teamchat"
    rooms.joined(Join("a-2", "alice", "tok", "Never"), Ack("r-2", "a-2"), T0, out.append)
    assert made.state.room == "Never"  # never heard of: as typed


def test_a_list_of_rooms_replaces_those_heard_of_and_marks_ours() -> None:
    rooms, out = membership("teamchat"), list[pa.Action]()
    rooms.seen_room("gone")
    listed = RoomList("r-1", "q-1", ("lobby", "TeamChat"), (1, 12))
    rooms.rooms_answered(RoomsRequest("q-1"), listed, T0, out.append)
    assert rooms.room_names() == ["lobby", "teamchat"]  # ours as we have it, "gone" forgotten
