"""FileStore's rooms: each room's last lines in a file of its own, read back at a
restart, compacted, removed with the room; damage and a failing disk are logged, never raised."""

from __future__ import annotations

from pathlib import Path

from registry.adapter.store import FileStore
from registry.core.rooms import ROOM_HISTORY
from wire.messages import RoomMessage


def line(n: int, room: str = "Lobby") -> RoomMessage:
    return RoomMessage(f"x-{n}", "ann", room, f"line {n}", "2026-11-22 10:00:00", False)


def test_what_is_kept_is_read_back_oldest_first(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    history: list[RoomMessage] = []
    for n in range(3):
        history.append(line(n))
        files.keep_history("lobby", history)
    assert FileStore(tmp_path).load_rooms() == {"lobby": history}


def test_the_file_is_compacted_to_the_last_lines_and_read_back_so(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    history: list[RoomMessage] = []
    for n in range(5 * ROOM_HISTORY):
        history = [*history, line(n)][-ROOM_HISTORY:]
        files.keep_history("lobby", history)
        lines = (tmp_path / "rooms" / "lobby.jsonl").read_bytes().count(b"\n")
        assert lines < 2 * ROOM_HISTORY
    assert FileStore(tmp_path).load_rooms() == {"lobby": history}
    # a later process goes on from what the file holds
    again = FileStore(tmp_path)
    for n in range(5 * ROOM_HISTORY, 7 * ROOM_HISTORY):
        history = [*history, line(n)][-ROOM_HISTORY:]
        again.keep_history("lobby", history)
    assert (tmp_path / "rooms" / "lobby.jsonl").read_bytes().count(b"\n") < 2 * ROOM_HISTORY
    assert FileStore(tmp_path).load_rooms() == {"lobby": history}


def test_a_room_gone_takes_its_file_along(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    files.keep_history("lobby", [line(1)])
    files.keep_history("teamchat", [line(2, "teamchat")])
    files.keep_history("lobby", [])
    files.keep_history("never-was", [])
    assert FileStore(tmp_path).load_rooms() == {"teamchat": [line(2, "teamchat")]}


def test_a_damaged_line_is_skipped_and_logged(tmp_path: Path) -> None:
    FileStore(tmp_path).keep_history("lobby", [line(1)])
    path = tmp_path / "rooms" / "lobby.jsonl"
    path.write_bytes(path.read_bytes() + b'{"t":"RoomMess\n' + b"\xff\xfe\n")
    FileStore(tmp_path).keep_history("lobby", [line(1), line(2)])
    logs: list[str] = []
    assert FileStore(tmp_path, logs.append).load_rooms() == {"lobby": [line(1), line(2)]}
    assert len(logs) == 1 and "2 line(s) that are not room messages skipped" in logs[0]


def test_a_file_named_for_no_room_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "rooms").mkdir()
    (tmp_path / "rooms" / "Not A Room!.jsonl").write_text("anything\n")
    logs: list[str] = []
    files = FileStore(tmp_path, logs.append)
    assert files.load_rooms() == {}
    files.keep_history("../escape", [line(1)])  # the core never asks this: refused all the same
    assert not (tmp_path / "escape.jsonl").exists() and "refusing" in logs[0]


def test_a_disk_that_fails_is_said_once_and_the_rooms_go_on(tmp_path: Path) -> None:
    (tmp_path / "rooms").write_text("a file where the directory should be")
    logs: list[str] = []
    files = FileStore(tmp_path, logs.append)
    assert files.load_rooms() == {}
    for n in range(3):
        files.keep_history("lobby", [line(n)])  # raises nothing
    files.keep_history("lobby", [])
    assert len([entry for entry in logs if "keep the history of room lobby" in entry]) == 1
    assert all("may not survive a restart" in entry for entry in logs)
