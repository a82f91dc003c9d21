"""The way back to a room (peer.core.room_return), on its own: the room kept on disk, going back
after a restart, joining again for kept room lines, and a /join that waits for them."""

from __future__ import annotations

from peer.core.actions import Action, Keep, Print
from peer.core.room_return import SHOWN_SINCE_JOIN_KEPT, RoomReturn
from peer.core.settling import Settling
from wire.messages import ChannelPost, Join, Leave, RoomPost


def texts(out: list[Action]) -> list[str]:
    return [a.text for a in out if isinstance(a, Print)]


def join(room: str, msg_id: str = "j-1") -> Join:
    return Join(msg_id, "alice", "tok", room)


def post(room: str, msg_id: str = "p-1") -> RoomPost:
    return RoomPost(msg_id, "alice", "tok", room, "hello")


def test_the_room_is_kept_when_it_changes_and_not_merely_because_we_are_in_none() -> None:
    rooms = RoomReturn(Settling(), "lobby")
    out: list[Action] = []
    rooms.keep("", False, out.append)  # not back in lobby yet: lobby stays on disk
    assert out == []
    rooms.keep("TeamChat", False, out.append)
    rooms.keep("TeamChat", False, out.append)
    assert out == [Keep("room", "TeamChat")]
    out.clear()
    rooms.keep("", True, out.append)  # left on the way out for good: stays kept
    assert out == []
    rooms.keep("", False, out.append)
    assert out == [Keep("room", "")]


def test_the_room_of_an_earlier_run_is_gone_back_to_once_without_history_again() -> None:
    rooms = RoomReturn(Settling(), "lobby")
    out: list[Action] = []
    assert rooms.shows("h-1", first=False, history=True)  # history shown again
    assert rooms.go_back(out.append) == "lobby"
    assert texts(out) == ["[Back to lobby, the room you were in.]"]
    assert not rooms.shows("h-2", first=False, history=True)
    assert rooms.go_back(out.append) == ""  # asked once: forgotten


def test_lines_typed_before_the_welcome_keep_the_peer_out_of_its_room() -> None:
    rooms = RoomReturn(Settling(), "lobby")
    out: list[Action] = []
    rooms.stay_out(out.append)
    assert out[0] == Keep("room", "")
    assert texts(out) == ["[You were in lobby when you left; /join lobby goes back there.]"]
    assert rooms.go_back(out.append) == ""
    out.clear()
    RoomReturn(Settling()).stay_out(out.append)  # no room to go back to: nothing said
    assert out == []


def test_a_room_the_registry_took_us_out_of_is_gone_back_to_at_the_welcome() -> None:
    rooms = RoomReturn(Settling())
    rooms.go_back_later("teamchat")
    assert rooms.go_back([].append) == "teamchat"


def test_kept_room_lines_join_their_room_again_first_and_the_way_back_waits() -> None:
    outbox = Settling([ChannelPost("c-1", "alice", "tok", "hi"), post("teamchat")])
    rooms = RoomReturn(outbox, "lobby")
    out: list[Action] = []
    assert rooms.rejoin_for_kept("", out.append) == "teamchat"
    assert texts(out) == ["[Joining teamchat again to send the lines you typed there.]"]
    assert rooms.rejoining == "teamchat"
    assert not rooms.shows("h-3", first=False, history=True)
    assert rooms.rejoin_for_kept("", out.append) == ""  # on its way already
    assert rooms.go_back(out.append) == ""  # the kept lines' room comes first
    assert not rooms.join_over(join("lobby"))
    assert rooms.join_over(join("TEAMCHAT"))  # any spelling
    assert rooms.rejoining is None
    assert not rooms.join_over(join("teamchat"))  # answered once


def test_no_rejoin_when_in_a_room_or_no_room_lines_are_kept() -> None:
    assert RoomReturn(Settling([post("teamchat")])).rejoin_for_kept("lobby", [].append) == ""
    kept = Settling([ChannelPost("c-1", "alice", "tok", "hi")])
    assert RoomReturn(kept).rejoin_for_kept("", [].append) == ""


def test_a_typed_join_goes_at_once_when_no_room_lines_are_kept() -> None:
    rooms = RoomReturn(Settling(), "lobby")
    rooms.go_back([].append)
    out: list[Action] = []
    assert rooms.typed_join(join("teamchat"), out.append)
    assert out == []
    # a join the user typed shows the room's last lines
    assert rooms.shows("h-4", first=False, history=True)
    assert rooms.join_due() is None


def test_a_typed_join_waits_for_kept_room_lines_to_reach_their_room() -> None:
    outbox = Settling([post("teamchat"), Leave("l-1", "alice", "tok")])
    rooms = RoomReturn(outbox)
    assert rooms.rejoin_for_kept("", [].append) == "teamchat"
    out: list[Action] = []
    later = join("lobby", "j-2")
    assert not rooms.typed_join(later, out.append)
    assert texts(out) == ["[Joining lobby once the lines you typed in teamchat are sent.]"]
    assert rooms.join_after_kept == later
    assert rooms.join_due() is None  # the rejoin is not answered yet
    rooms.join_over(join("teamchat"))
    assert rooms.join_due() is None  # its lines (and the leave) are still kept
    outbox.stop_holding(post("teamchat"))
    assert rooms.join_due() is None
    outbox.stop_holding(Leave("l-1", "alice", "tok"))
    assert rooms.join_due() == later
    assert rooms.join_due() is None  # given once, and waited for until answered
    assert rooms.join_after_kept == later
    assert rooms.join_over(later) and rooms.join_after_kept is None


def test_a_line_typed_after_a_waiting_join_waits_for_it_and_not_the_other_way() -> None:
    outbox = Settling([post("teamchat")])
    rooms = RoomReturn(outbox)
    lobby = join("lobby", "j-2")
    assert not rooms.typed_join(lobby, [].append)
    for_lobby = post("lobby", "p-2")
    outbox.note_typed(for_lobby)
    outbox.hold(for_lobby)
    assert rooms.waits_for_join(for_lobby) and not rooms.waits_for_join(post("teamchat"))
    outbox.stop_holding(post("teamchat"))
    assert rooms.join_due() == lobby  # the line typed after it does not hold it back
    rooms.given_up(lobby)
    assert rooms.join_after_kept is None and not rooms.waits_for_join(for_lobby)


def test_a_typed_join_waits_for_lines_kept_while_the_registry_was_away() -> None:
    rooms = RoomReturn(Settling([post("teamchat")]))
    out: list[Action] = []
    assert not rooms.typed_join(join("lobby"), out.append)  # no rejoin yet: the kept line's room
    assert texts(out) == ["[Joining lobby once the lines you typed in teamchat are sent.]"]
    rooms.drop_join()
    assert rooms.join_after_kept is None


def test_after_a_typed_join_a_history_line_seen_before_is_shown_again_but_once() -> None:
    rooms = RoomReturn(Settling())
    assert rooms.typed_join(join("lobby"), [].append)
    assert rooms.shows("x-1", first=False, history=True)  # seen before this join: shown again
    # the registry, restarted while replaying the history, replays it again
    assert not rooms.shows("x-1", first=False, history=True)
    assert rooms.shows("x-2", first=True, history=True)
    assert not rooms.shows("x-2", first=False, history=True)
    assert rooms.typed_join(join("lobby", "j-2"), [].append)  # a new join shows them again
    assert rooms.shows("x-1", first=False, history=True)


def test_a_line_shown_live_is_not_shown_again_when_the_history_is_replayed() -> None:
    # found by trying it: bob joined, then saw alice's line live; the registry, killed and
    # started again, replayed the room's history to him, and her line was shown again
    rooms = RoomReturn(Settling())
    assert rooms.typed_join(join("lobby"), [].append)
    assert rooms.shows("x-1", first=True, history=False)  # said while bob was in the room
    assert not rooms.shows("x-1", first=False, history=True)


def test_the_lines_shown_since_a_join_are_remembered_within_a_bound() -> None:
    rooms = RoomReturn(Settling())
    assert rooms.typed_join(join("lobby"), [].append)
    for n in range(SHOWN_SINCE_JOIN_KEPT + 1):
        assert rooms.shows(f"x-{n}", first=True, history=False)
    assert rooms.shows("x-0", first=False, history=True)  # the oldest, forgotten
    assert not rooms.shows(f"x-{SHOWN_SINCE_JOIN_KEPT}", first=False, history=True)


def test_after_going_back_by_ourselves_only_history_not_seen_before_is_shown() -> None:
    rooms = RoomReturn(Settling(), "lobby")
    assert rooms.go_back([].append) == "lobby"
    assert not rooms.shows("x-1", first=False, history=True)
    assert rooms.shows("x-2", first=True, history=True)
