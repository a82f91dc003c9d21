"""The registry's files: durable appends, atomic deletes, torn lines, names kept inside; each
room's last lines in a file of its own, read back at a restart, compacted, removed with the
room (damage and a failing disk are logged, never raised)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.adapter import store as store_module
from registry.adapter.store import FileStore, StorageError, mail_line, table_text
from registry.core.credentials import token_hash
from registry.core.rooms import ROOM_HISTORY
from registry.core.table import Record, Table
from tests.hypothesis_profiles import examples
from wire.messages import Entry, RoomMessage, StoredMessage


def msg(i: int, text: str = "hi") -> StoredMessage:
    return StoredMessage(f"id-{i}", "x", text, "2026-11-21 10:00:00", "direct")


def test_mail_survives_a_restart_in_order(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    for i in range(3):
        store.append_line("bob", mail_line(msg(i, f'm{i} üñí: "quoted"')))
    assert [m.id for m in FileStore(tmp_path).load_mail()["bob"]] == ["id-0", "id-1", "id-2"]


def test_the_key_that_saved_a_message_is_kept_and_a_line_written_without_it_loads(
    tmp_path: Path,
) -> None:
    saved = msg(0)._replace(saved_by="k" * 43)
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(saved))
    with open(tmp_path / "mail" / "bob.jsonl", "a") as f:  # as an older registry wrote it
        f.write('{"id": "id-1", "sender": "x", "text": "hi", "stamp": "2026-11-21 10:00:00", ')
        f.write('"kind": "direct"}\n')
    assert FileStore(tmp_path).load_mail()["bob"] == [saved, msg(1)]
    assert msg(1).saved_by == ""
    store.drop("bob", ("id-9",))  # a rewrite keeps both as they are
    assert FileStore(tmp_path).load_mail()["bob"] == [saved, msg(1)]
    with open(tmp_path / "mail" / "bob.jsonl", "a") as f:
        f.write('{"id": "id-2", "sender": "x", "text": "hi", "stamp": "", "kind": "direct", ')
        f.write('"saved_by": 7}\n')  # not a key's text: not a message
    assert [m.id for m in FileStore(tmp_path).load_mail()["bob"]] == ["id-0", "id-1"]


def test_the_registrys_own_notice_is_kept_like_a_message(tmp_path: Path) -> None:
    notice = StoredMessage("r-1", "", "Your mailbox filled up", "2026-11-21 10:00:01", "notice")
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(msg(0)))
    store.append_line("bob", mail_line(notice))
    assert FileStore(tmp_path).load_mail()["bob"] == [msg(0), notice]


def test_drop_removes_only_the_acknowledged_ones(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    for i in range(3):
        store.append_line("bob", mail_line(msg(i)))
    store.drop("bob", ("id-0", "id-2"))
    assert [m.id for m in store.load_mail()["bob"]] == ["id-1"]
    store.drop("bob", ("id-1",))
    assert "bob" not in store.load_mail()
    assert not list((tmp_path / "mail").glob("*.tmp"))


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(msg(1)))
    with open(tmp_path / "mail" / "bob.jsonl", "a") as f:
        f.write('{"id": "id-2", "sender": "x", "te')  # killed in the middle of an append
    assert [m.id for m in store.load_mail()["bob"]] == ["id-1"]
    assert len((tmp_path / "mail" / "bob.jsonl.unreadable").read_text().splitlines()) == 1


def test_damaged_lines_anywhere_are_moved_aside_said_and_never_lost(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    for i in range(3):
        store.append_line("bob", mail_line(msg(i)))
    box = tmp_path / "mail" / "bob.jsonl"
    lines = box.read_text().splitlines(keepends=True)
    damaged = ['{"id": "id-9", "sender": "x", "text": "hi", "stamp": 5}\n', "\x00garbage\n"]
    box.write_text(lines[0] + damaged[0] + lines[1] + damaged[1] + lines[2])
    logs: list[str] = []
    assert FileStore(tmp_path, logs.append).load_mail()["bob"] == [msg(0), msg(1), msg(2)]
    aside = tmp_path / "mail" / "bob.jsonl.unreadable"
    assert aside.read_text() == "".join(damaged)
    assert len(logs) == 1 and "2 lines that are not messages" in logs[0]
    assert "bob.jsonl.unreadable" in logs[0]
    # the box no longer holds them, so the next start neither copies nor says them again
    assert box.read_text() == "".join(lines)
    logs.clear()
    assert FileStore(tmp_path, logs.append).load_mail()["bob"] == [msg(0), msg(1), msg(2)]
    assert logs == [] and aside.read_text() == "".join(damaged)


def test_a_drop_keeps_damaged_lines_aside_before_it_rewrites_the_box(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(msg(1)))
    store.append_line("bob", mail_line(msg(2)))
    box = tmp_path / "mail" / "bob.jsonl"
    with open(box, "a") as f:
        f.write("damaged while running\n")
    store.drop("bob", ("id-1",))
    assert store.load_mail()["bob"] == [msg(2)]
    assert (tmp_path / "mail" / "bob.jsonl.unreadable").read_text() == "damaged while running\n"


def test_a_messages_after_is_kept_and_one_too_long_is_set_aside(tmp_path: Path) -> None:
    # the receiver shows a message after its sender's line `after`: from the mailbox too
    later = msg(1)._replace(after="x1-7")
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(later))
    store.append_line("bob", mail_line(msg(2)._replace(after="a" * 25)))  # no sender's id
    assert '"after"' not in mail_line(msg(0))  # written only when there is one
    assert FileStore(tmp_path).load_mail()["bob"] == [later]
    assert (tmp_path / "mail" / "bob.jsonl.unreadable").exists()


def test_a_mailbox_that_cannot_be_read_stops_the_load_with_one_clear_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "mail" / "dave.jsonl").mkdir(parents=True)
    with pytest.raises(StorageError, match=r"cannot read mailbox .*dave\.jsonl: Is a directory"):
        FileStore(tmp_path).load_mail()


@pytest.mark.timeout(10)
def test_a_mailbox_or_table_that_is_a_named_pipe_stops_the_load_at_once(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    os.mkfifo(tmp_path / "mail" / "zz.jsonl")
    with pytest.raises(StorageError, match=r"zz\.jsonl: not a regular file \(a named pipe\)$"):
        FileStore(tmp_path).load_mail()
    os.mkfifo(tmp_path / "table.json")
    with pytest.raises(StorageError, match=r"table\.json: not a regular file \(a named pipe\)$"):
        FileStore(tmp_path).load_table(0.0)


def test_a_mail_directory_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "mail").write_text("")
    with pytest.raises(StorageError, match=r"mail is not a directory"):
        FileStore(tmp_path)


def test_move_merges_mailboxes(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.append_line("old", mail_line(msg(1)))
    store.append_line("new", mail_line(msg(2)))
    store.move("old", "new")
    assert [m.id for m in store.load_mail()["new"]] == ["id-2", "id-1"]
    assert "old" not in store.load_mail()


@pytest.mark.parametrize("owner", ["../evil", "a/b", ".hidden", "", "UPPER"])
def test_mailbox_names_cannot_leave_the_directory(tmp_path: Path, owner: str) -> None:
    with pytest.raises(StorageError):
        FileStore(tmp_path).append_line(owner, mail_line(msg(1)))


def test_a_mailbox_file_not_named_as_the_registry_names_boxes_is_said_and_left_alone(
    tmp_path: Path,
) -> None:
    FileStore(tmp_path).append_line("bob", mail_line(msg(1)))
    (tmp_path / "mail" / "Bob.jsonl").write_text(mail_line(msg(2)))
    (tmp_path / "mail" / "Bob.owner.json").write_text("{}")
    said: list[str] = []
    store = FileStore(tmp_path, log=said.append)
    assert {o: [m.id for m in b] for o, b in store.load_mail().items()} == {"bob": ["id-1"]}
    assert store.load_owners() == {}
    assert [line.split(": ", 1)[1] for line in said] == ["not a mailbox's name; left alone"] * 2
    assert (tmp_path / "mail" / "Bob.jsonl").read_text() == mail_line(msg(2))


def test_mailboxes_past_the_paths_kept_are_still_each_their_owners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BOX_PATHS_KEPT", 2)  # the paths are forgotten twice
    store = FileStore(tmp_path)
    owners = ["ann", "bob", "cat", "dan", "ann"]
    for i, owner in enumerate(owners):
        store.append_line(owner, mail_line(msg(i)), sync=False)
    with pytest.raises(StorageError):
        store.append_line("../evil", mail_line(msg(9)))  # checked again once forgotten
    store.sync()
    boxes = FileStore(tmp_path).load_mail()
    assert {o: [m.id for m in b] for o, b in boxes.items()} == {
        "ann": ["id-0", "id-4"],
        "bob": ["id-1"],
        "cat": ["id-2"],
        "dan": ["id-3"],
    }


def test_table_round_trip_and_corrupt_table(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    table = Table(version=7)
    table.records["x"] = Record("X", "127.0.0.1", 6001, True, "t" * 32, "salt$hash")
    store.write_table(table_text(table))
    loaded = store.load_table(0.0)
    # kept hashed: a token in clear (a table of an older version) is hashed as it is read
    assert loaded.version == 7 and loaded.get("x").token == token_hash("t" * 32)  # type: ignore[union-attr]
    (tmp_path / "table.json").write_text("{not json")
    with pytest.raises(
        StorageError, match=r"is damaged .*: put back a copy of it, or move it aside"
    ):
        store.load_table(0.0)
    (tmp_path / "table.json").unlink()
    (tmp_path / "table.json").mkdir()  # one that cannot be read now is not called damaged
    with pytest.raises(StorageError, match=r"cannot read .*table\.json: Is a directory$"):
        store.load_table(0.0)


def test_the_rows_not_pushed_yet_are_kept_with_the_table(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    table = Table(version=7)
    table.records["x"] = Record("X", "127.0.0.1", 6001, True, "t" * 32)
    table.unpushed["x"] = Entry("X", "127.0.0.1", 6001, True, "")
    table.unpushed["old"] = Entry("Old", "127.0.0.1", 0, False, "")  # renamed away
    store.write_table(table_text(table))
    loaded = store.load_table(0.0)
    assert loaded.continues and list(loaded.unpushed.values()) == list(table.unpushed.values())
    # a table of an earlier version of ChatApp does not say what it had not pushed
    data = json.loads((tmp_path / "table.json").read_text())
    del data["unpushed"]
    (tmp_path / "table.json").write_text(json.dumps(data))
    loaded = store.load_table(0.0)
    assert not loaded.continues and not loaded.unpushed
    data["unpushed"] = [["X", "127.0.0.1", "6001", True, ""]]
    (tmp_path / "table.json").write_text(json.dumps(data))
    with pytest.raises(StorageError, match="unpushed"):
        store.load_table(0.0)


def test_the_table_keeps_rooms_of_online_members_only(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    table = Table(version=1)
    table.records["x"] = Record("x", "127.0.0.1", 6001, True, "t", room="TeamChat")
    table.records["y"] = Record("y", "127.0.0.1", 6002, True, "t")
    table.records["z"] = Record("z", "127.0.0.1", 6003, False, "t", room="TeamChat")
    table.records["w"] = Record("w", "127.0.0.1", 6004, True, "t", room="../bad")
    store.write_table(table_text(table))
    loaded = store.load_table(0.0)
    rooms = {key: record.room for key, record in loaded.records.items()}
    # an offline member or a room name no peer could have joined: in no room, not an error
    assert rooms == {"x": "TeamChat", "y": "", "z": "", "w": ""}
    assert "room" not in (tmp_path / "table.json").read_text().split('"y"')[1].split("}")[0]


def test_a_replay_going_on_is_kept_for_a_member_of_a_room_and_read_leniently(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path)
    table = Table(version=1)
    table.records["x"] = Record("x", "127.0.0.1", 6001, True, "t", room="r", replaying="x-9")
    table.records["y"] = Record("y", "127.0.0.1", 6002, True, "t", replaying="x-9")  # no room
    store.write_table(table_text(table))
    loaded = store.load_table(0.0)
    assert {k: r.replaying for k, r in loaded.records.items()} == {"x": "x-9", "y": ""}
    # a damaged value costs a replay, not the start
    data = json.loads((tmp_path / "table.json").read_text())
    data["names"][0]["replaying"] = 5
    (tmp_path / "table.json").write_text(json.dumps(data))
    assert store.load_table(0.0).records["x"].replaying == ""


def test_unusable_data_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="cannot use data directory"):
        FileStore(blocker / "sub")


def saved_table(tmp_path: Path, rows: list[object], version: object = 3) -> Path:
    import json

    path = tmp_path / "table.json"
    path.write_text(json.dumps({"version": version, "names": rows}))
    return path


def row(name: str = "bob", **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": name,
        "ip": "127.0.0.1",
        "port": 6001,
        "online": False,
        "token": "t" * 32,
        "password": "",
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("rows", "version", "said"),
    [
        ([row("Bob"), row("bob", port=6002)], 3, "'Bob' and 'bob' are one name"),
        ([row(ip="example.com")], 3, "'example.com' is not an IPv4 address"),
        ([row(ip="::1")], 3, "is not an IPv4 address"),
        ([row(port=0)], 3, "port 0 is not a valid port"),
        ([row(port="6001")], 3, "port is missing or not a whole number"),
        ([row(online="false")], 3, "online is missing or not true or false"),
        ([row(token=None)], 3, "'bob': token is missing or not a string"),
        ([{k: v for k, v in row().items() if k != "token"}], 3, "'bob': token is missing"),
        ([{k: v for k, v in row().items() if k != "name"}], 3, "name is missing"),
        ([row("../etc")], 3, "bad name"),
        ([row(former="bobby")], 3, "former is not a list of names"),
        ([row(former=[1])], 3, "former is not a list of names"),
        (["bob"], 3, "bad table row 'bob'"),
        ([row()], -1, "version -1 is out of range"),
        ([row()], 2**70, "out of range"),
        ([row()], True, "not a ChatApp table"),
    ],
)
def test_a_table_that_the_registry_could_not_have_written_is_refused_by_row(
    tmp_path: Path, rows: list[object], version: object, said: str
) -> None:
    path = saved_table(tmp_path, rows, version)
    with pytest.raises(StorageError) as caught:
        FileStore(tmp_path).load_table(0.0)
    assert said in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_table_as_written_loads_whole(tmp_path: Path) -> None:
    saved_table(tmp_path, [row("alice", online=True, room="lobby"), row("bob", port=6002)])
    table = FileStore(tmp_path).load_table(0.0)
    assert [(r.name, r.port, r.online, r.room) for r in table.records.values()] == [
        ("alice", 6001, True, "lobby"),
        ("bob", 6002, False, ""),
    ]


def test_the_table_and_mailboxes_are_readable_by_the_registrys_user_only(tmp_path: Path) -> None:
    # they hold every name's token and people's messages
    store = FileStore(tmp_path)
    table = Table()
    table.records["x"] = Record("x", "127.0.0.1", 6001, True, "t" * 32)
    store.write_table(table_text(table))
    store.append_line("bob", mail_line(msg(0)))
    for path in (tmp_path / "table.json", *(tmp_path / "mail").iterdir()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_table_or_mailbox_line_with_numbers_chatapp_never_writes_is_refused(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path)
    (tmp_path / "table.json").write_text('{"version": NaN, "names": []}')
    with pytest.raises(StorageError, match="NaN is not a number ChatApp writes"):
        store.load_table(0.0)
    (tmp_path / "table.json").write_text("[" * 100_000)
    with pytest.raises(StorageError, match="is damaged"):
        store.load_table(0.0)
    store.append_line("bob", mail_line(msg(1)))
    box = next((tmp_path / "mail").iterdir())
    with box.open("a") as f:
        f.write('{"id": Infinity}\n' + "[" * 100_000 + "\n")
    assert [m.id for m in store.load_mail()["bob"]] == [msg(1).id]
    assert len((tmp_path / "mail" / "bob.jsonl.unreadable").read_text().splitlines()) == 2


def test_the_former_names_of_a_renamed_record_are_kept_and_forgotten_once_taken(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path)
    table = Table(version=1)
    table.records["bert"] = Record("bert", "127.0.0.1", 6001, False, "t" * 32)
    table.records["y"] = Record("y", "127.0.0.1", 6002, True, "u" * 32)
    table.note_rename("bobby", "bert")
    table.note_rename("rob", "bert")
    store.write_table(table_text(table))
    assert '"y"' in (text := (tmp_path / "table.json").read_text())
    assert "former" not in text.split('"y"')[1]  # only renamed records carry them
    loaded = store.load_table(0.0)
    assert loaded.former == {"bobby": "bert", "rob": "bert"}
    assert loaded.renamed_from("BOBBY") is loaded.records["bert"]
    # a former name that is someone's name (a table edited by hand), or no name: forgotten
    saved_table(tmp_path, [row("bert", former=["y", "../x", "bobby"]), row("y", port=6002)])
    assert FileStore(tmp_path).load_table(0.0).former == {"bobby": "bert"}


any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=examples(200))
@given(st.tuples(any_text, any_text, any_text, any_text, any_text, any_text, any_text))
def test_a_mailbox_line_is_what_json_dumps_writes(fields: tuple[str, ...]) -> None:
    # mail_line fills a template in rather than walking a dict; the file must not change
    # (`after` is written only when there is one)
    message = StoredMessage(*fields)
    written = {k: v for k, v in message._asdict().items() if k != "after" or v}
    expected = json.dumps(written, ensure_ascii=False)
    escaped = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}  # (line breaks)
    assert mail_line(message) == expected.translate(escaped) + "\n"


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
