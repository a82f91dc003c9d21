"""The peer's kept state: its token and the ids it has shown."""

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disk import files
from peer.adapter import state
from peer.adapter.start import StartRefused, load_outbox, sent_earlier
from peer.adapter.state import PeerStateFile, follow_renames
from peer.core.actions import Shown
from peer.core.shared import kept_registries
from tests.hypothesis_profiles import examples


def test_token_round_trip_private_file(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "Alice")
    assert kept.load_token() == ""
    kept.save_token("secret")
    assert PeerStateFile(tmp_path, "alice").load_token() == "secret"
    assert (kept.path.stat().st_mode & 0o777) == 0o600


def test_a_token_file_that_cannot_be_read_is_none_and_said(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.path.parent.mkdir(parents=True)
    assert kept.load_token() == "" and kept.problems == []  # none yet: nothing to say
    for content, why in [
        ("{not json", "it is not what ChatApp writes there"),
        ('{"token": NaN}', "it is not what ChatApp writes there"),
        ("[" * 100_000, "it is not what ChatApp writes there"),
        ('{"token": 5}', "it holds no token"),
        ("[]", "it holds no token"),
    ]:
        kept.problems.clear()
        kept.path.write_text(content)
        assert kept.load_token() == ""
        assert kept.problems == [
            f"Could not read your token file {kept.path} ({why}); starting without it."
        ]
    kept.path.unlink()
    kept.path.mkdir()
    kept.problems.clear()
    assert kept.load_token() == "" and "(Is a directory)" in kept.problems[0]


def test_a_shown_ids_file_that_cannot_be_read_is_said(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.seen_path.mkdir(parents=True)
    assert kept.load_seen() == []
    assert kept.problems == [
        f"Could not read {kept.seen_path} (Is a directory): a message shown before this start "
        "may be shown again."
    ]


def test_shown_ids_survive_and_are_compacted(tmp_path: Path, monkeypatch: object) -> None:
    monkeypatch.setattr(state, "KEEP_SEEN", 10)
    kept = PeerStateFile(tmp_path, "alice")
    for i in range(25):
        kept.add_shown(Shown((("bob", f"b-{i}"),)))
    kept.add_shown(Shown((("carol", "c-1"),)))
    kept.add_shown(Shown((("bob", "b-25"),)))
    again = PeerStateFile(tmp_path, "alice").load_seen()
    assert again[-2:] == [("carol", "c-1"), ("bob", "b-25")] and len(again) <= 10
    assert stat.S_IMODE(kept.seen_path.stat().st_mode) == 0o600  # who talked to whom


def test_what_a_run_left_unsettled_is_sent_at_the_next_start_as_saves(tmp_path: Path) -> None:
    from peer.core.actions import Sending
    from wire.messages import ChannelPost, Chat, SaveMessage

    kept = PeerStateFile(tmp_path, "alice")
    assert load_outbox(kept, "tok") == []
    held = SaveMessage("a-1", "alice", "old", "bob", "held while the registry was away ☃")
    chat = Chat("a-2", "alice", "bob", "sent just before the kill", after="a-1")
    post = ChannelPost("a-3", "alice", "old", "to all")
    kept.write_sending([Sending(held), chat, post], [chat])
    kept.close()  # as a kill leaves it, but for the map
    # the save keeps the chat's `after`: bob shows it after a-1, from his mailbox too
    expected = [held, SaveMessage("a-2", "alice", "tok", "bob", chat.text, after="a-1"), post]
    again = PeerStateFile(tmp_path, "alice")
    assert load_outbox(again, "tok") == expected and again.problems == []
    # kept in the log, durably, as they go now: until settled, each start sends them once
    assert sent_earlier(again) == (expected, [])
    assert load_outbox(PeerStateFile(tmp_path, "alice"), "other") == expected


def test_an_outbox_file_of_an_earlier_version_is_sent_once(tmp_path: Path) -> None:
    from wire.codec import encode
    from wire.messages import ChannelPost, SaveMessage

    held = SaveMessage("a-1", "alice", "tok", "bob", "held by an earlier version")
    post = ChannelPost("a-2", "alice", "tok", "to all")
    kept = PeerStateFile(tmp_path, "alice")
    old = tmp_path / "peers" / "alice.outbox"
    old.parent.mkdir(parents=True)
    old.write_bytes(encode(held) + b"\n" + encode(post) + b"\n")
    assert load_outbox(kept, "tok") == [held, post] and kept.problems == []
    assert not old.exists()  # the log holds them now, until each is settled
    assert load_outbox(PeerStateFile(tmp_path, "alice"), "tok") == [held, post]


def test_an_earlier_outbox_with_damaged_lines_is_set_aside_and_its_messages_sent(
    tmp_path: Path,
) -> None:
    from wire.codec import encode
    from wire.messages import ChannelPost

    post = ChannelPost("a-2", "alice", "tok", "to all")
    kept = PeerStateFile(tmp_path, "alice")
    old = tmp_path / "peers" / "alice.outbox"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"damaged\n" + encode(post) + b"\n")
    assert load_outbox(kept, "tok") == [post]
    aside = old.with_name("alice.outbox.unreadable")
    assert aside.read_bytes().startswith(b"damaged\n") and not old.exists()
    assert kept.problems == [
        "1 line of your outbox could not be read (damaged, or from another version of "
        f"ChatApp) and did not go out; kept in {aside}."
    ]


def test_an_earlier_outbox_that_cannot_be_read_stays_while_the_log_is_rewritten(
    tmp_path: Path,
) -> None:
    from wire.messages import ChannelPost

    post = ChannelPost("a-3", "alice", "tok", "sent just before the kill")
    kept = PeerStateFile(tmp_path, "alice")
    kept.write_sending([post], [post])
    kept.close()
    old = tmp_path / "peers" / "alice.outbox"
    os.mkfifo(old)  # (any file that cannot be read)
    again = PeerStateFile(tmp_path, "alice")
    assert load_outbox(again, "tok") == [post]
    assert [p for p in again.problems if "it stays there" in p] and old.exists()


def test_a_sending_log_that_cannot_be_read_for_a_moment_refuses_the_start_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from wire.codec import encode
    from wire.messages import ChannelPost, SaveMessage

    post = ChannelPost("a-2", "alice", "tok", "sent just before the end")
    held = SaveMessage("a-1", "alice", "tok", "bob", "held by an earlier version")
    kept = PeerStateFile(tmp_path, "alice")
    kept.write_sending([post], [post])
    kept.close()
    old = tmp_path / "peers" / "alice.outbox"
    old.write_bytes(encode(held) + b"\n")

    def eio(path: Path) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))

    with monkeypatch.context() as patched:
        patched.setattr(state, "read_bytes", eio)
        again = PeerStateFile(tmp_path, "alice")
        with pytest.raises(StartRefused) as refused:
            load_outbox(again, "tok")
    assert str(refused.value).startswith(f"[Cannot read {again.sending_path} (Input/output error)")
    assert old.exists()  # nothing changed: the next start sends both, once
    assert load_outbox(PeerStateFile(tmp_path, "alice"), "tok") == [held, post]
    assert load_outbox(PeerStateFile(tmp_path, "alice"), "tok") == [held, post]


def test_an_earlier_outbox_waits_while_the_sending_log_cannot_be_rewritten(
    tmp_path: Path,
) -> None:
    from wire.codec import encode
    from wire.messages import SaveMessage

    held = SaveMessage("a-1", "alice", "tok", "bob", "held by an earlier version")
    old = tmp_path / "peers" / "alice.outbox"
    old.parent.mkdir(parents=True)
    old.write_bytes(encode(held) + b"\n")
    kept = PeerStateFile(tmp_path, "alice")
    rewritten_at = kept.sending_path.with_name("alice.sending.tmp")
    rewritten_at.mkdir()  # (a log that cannot be rewritten, as on a full disk)
    first = load_outbox(kept, "tok")
    assert kept.problems[-1].startswith("Your outbox waits for it") and old.exists()
    rewritten_at.rmdir()
    assert first + load_outbox(PeerStateFile(tmp_path, "alice"), "tok") == [held]  # once


def test_an_earlier_outbox_and_the_log_a_kill_left_go_in_the_order_typed(tmp_path: Path) -> None:
    from peer.core.actions import Sending
    from wire.codec import encode
    from wire.messages import ChannelPost, Chat, SaveMessage

    # kept by a run before the kill, then typed in it: a post, and a chat held as its save
    before = SaveMessage("a-1", "alice", "tok", "bob", "kept from a run before")
    post = ChannelPost("a-2", "alice", "tok", "sent just before the kill")
    chat = Chat("a-3", "alice", "bob", "held while the registry was away")
    save = SaveMessage("a-3", "alice", "tok", "bob", chat.text)
    kept = PeerStateFile(tmp_path, "alice")
    kept.write_sending([post, chat, Sending(save)], [post])
    kept.close()
    (tmp_path / "peers" / "alice.outbox").write_bytes(encode(before) + b"\n" + encode(save))
    assert load_outbox(PeerStateFile(tmp_path, "alice"), "tok") == [before, post, save]


def test_an_earlier_outbox_set_aside_keeps_what_was_set_aside_before(tmp_path: Path) -> None:
    from wire.codec import encode
    from wire.messages import ChannelPost

    post = ChannelPost("a-2", "alice", "tok", "to all")
    old = tmp_path / "peers" / "alice.outbox"
    old.parent.mkdir(parents=True)
    aside = old.with_name("alice.outbox.unreadable")
    aside.write_bytes(b"set aside by an earlier version\n")
    old.write_bytes(b"damaged\n" + encode(post) + b"\n")
    assert load_outbox(PeerStateFile(tmp_path, "alice"), "tok") == [post]
    assert aside.read_bytes().startswith(b"set aside by an earlier version\ndamaged\n")
    assert not old.exists()


def test_records_of_the_sending_log_that_are_not_messages_are_kept_aside(
    tmp_path: Path,
) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.sending_path.parent.mkdir(parents=True)
    kept.sending_path.write_bytes(b"+garbage\n")
    assert load_outbox(kept, "tok") == []
    aside = kept.sending_path.with_name("alice.sending.unreadable")
    assert aside.read_bytes() == b"+garbage\n"
    assert kept.problems == [
        "1 record of what your last session sent could not be read (damaged, or from "
        f"another version of ChatApp) and did not go out; kept in {aside}."
    ]
    again = PeerStateFile(tmp_path, "alice")
    assert load_outbox(again, "tok") == [] and again.problems == []  # said once


def test_room_round_trip(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    assert kept.load_room() == ""
    kept.keep("room", "TeamChat")
    assert PeerStateFile(tmp_path, "alice").load_room() == "TeamChat"
    kept.keep("room", "")
    assert not kept.room_path.exists()
    kept.keep("room", "")  # none kept already
    assert kept.load_room() == "" and kept.problems == []


def test_a_room_file_that_holds_no_room_is_said_and_starts_in_none(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.room_path.parent.mkdir(parents=True)
    for damage in (b"../../etc", b"\xff\xfe", b""):
        kept.room_path.write_bytes(damage)
        kept.problems.clear()
        assert kept.load_room() == ""
        assert kept.problems == [
            f"Could not read {kept.room_path} (it is not what ChatApp writes there); "
            "starting in no room."
        ]


KEY, OTHER_KEY = b"k" * 32, b"o" * 32
SERVICE = (("10.0.0.1", 5000), ("10.0.0.2", 5000))


def _registries(registries: tuple[tuple[str, int], ...], key: bytes) -> tuple[str, str]:
    """What the core keeps of `registries` (a Keep), as `keep` takes it."""
    kept = kept_registries(registries, key)
    return kept.what, kept.text


def test_the_services_registries_round_trip_with_their_key(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    assert kept.load_registries(KEY) == ()
    kept.keep(*_registries(SERVICE, KEY))
    assert PeerStateFile(tmp_path, "alice").load_registries(KEY) == SERVICE
    kept.keep(*_registries((), KEY))  # a registry alone
    assert not kept.registries_path.exists() and kept.load_registries(KEY) == ()
    assert kept.problems == []


def test_registries_kept_damaged_or_with_another_key_are_said_once_and_forgotten(
    tmp_path: Path,
) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.keep(*_registries(SERVICE, OTHER_KEY))
    assert kept.load_registries(KEY) == ()
    for damage in (b"", b"\xff\xfe"):
        kept.registries_path.write_bytes(damage)
        assert kept.load_registries(KEY) == ()
    assert (
        kept.problems
        == [f"Not using {kept.registries_path}: damaged, or of another registry key."] * 3
    )
    assert not kept.registries_path.exists() and kept.load_registries(KEY) == ()
    assert len(kept.problems) == 3


def test_shown_ids_grow_past_one_chunk_and_survive(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    records = [("bob", f"session-{i:08d}") for i in range(3 * state.CHUNK // 20)]
    for sender, msg_id in records:
        kept.add_shown(Shown(((sender, msg_id),)))
    kept.close()
    assert PeerStateFile(tmp_path, "alice").load_seen() == records[-state.KEEP_SEEN :]
    # the file is padded to whole chunks, and the padding is not read as records
    assert kept.seen_path.stat().st_size % state.CHUNK == 0


def test_a_record_cut_short_by_a_kill_is_dropped(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.seen_path.parent.mkdir(parents=True)
    # the last copy into the map stopped partway: no newline yet, padding after it
    kept.seen_path.write_bytes(b"bob\tb-1\nbob\tb-2\n" + b"bob\tb-3" + bytes(100))
    assert kept.load_seen() == [("bob", "b-1"), ("bob", "b-2")]
    kept.add_shown(Shown((("carol", "c-1"),)))  # written where the cut record was
    assert PeerStateFile(tmp_path, "alice").load_seen() == [
        ("bob", "b-1"),
        ("bob", "b-2"),
        ("carol", "c-1"),
    ]


def test_damaged_lines_of_the_shown_ids_are_said_once_and_dropped(tmp_path: Path) -> None:
    # Issue: a .seen file with lines ChatApp never writes was read in silence, while every
    # other damaged file is said at start with what is done about it
    kept = PeerStateFile(tmp_path, "alice")
    kept.seen_path.parent.mkdir(parents=True)
    kept.seen_path.write_bytes(b"bob\tb-1\ngarbage\n\tnotice-1\nmore \xff\xfe\tjunk\n")
    assert kept.load_seen() == [("bob", "b-1"), ("", "notice-1")]  # a notice has no sender
    assert kept.problems == [
        f"2 lines of {kept.seen_path} could not be read (damaged); they were dropped: a "
        "message shown before this start may be shown again."
    ]
    kept.add_shown(Shown((("bob", "b-2"),)))
    again = PeerStateFile(tmp_path, "alice")
    assert again.load_seen() == [("bob", "b-1"), ("", "notice-1"), ("bob", "b-2")]
    assert again.problems == []  # said once: the file was rewritten without them


def test_a_record_with_bytes_missing_is_skipped(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.seen_path.parent.mkdir(parents=True)
    # a copy that wrote the newline before the middle: the missing bytes are still NULs
    kept.seen_path.write_bytes(b"bob\tb-1\nbob\tb\0\0\0\n" + bytes(50))
    assert kept.load_seen() == [("bob", "b-1")]
    assert kept.problems == []  # a kill leaves such a record: no damage to speak of
    kept.add_shown(Shown((("bob", "b-2"),)))
    assert PeerStateFile(tmp_path, "alice").load_seen() == [("bob", "b-1"), ("bob", "b-2")]


def test_shown_ids_survive_a_killed_process(tmp_path: Path) -> None:
    # no close, no flush, no exit handlers: what was recorded is the kernel's already
    code = (
        "import os, signal, sys; from pathlib import Path\n"
        "from peer.adapter.state import PeerStateFile\n"
        "from peer.core.actions import Shown\n"
        "kept = PeerStateFile(Path(sys.argv[1]), 'alice')\n"
        "kept.add_shown(Shown((('bob', 'b-1'),)))\n"
        "kept.add_shown(Shown((('carol', 'c-1'),)))\n"
        "kept.add_shown(Shown((('bob', 'b-2'),)))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=root, timeout=30)
    assert done.returncode == -signal.SIGKILL
    assert PeerStateFile(tmp_path, "alice").load_seen() == [
        ("bob", "b-1"),
        ("carol", "c-1"),
        ("bob", "b-2"),
    ]


def test_a_start_under_a_renamed_name_follows_the_renames_to_a_kept_token(
    tmp_path: Path,
) -> None:
    PeerStateFile(tmp_path, "al").left_for("alice")
    PeerStateFile(tmp_path, "alice").left_for("alicia")
    PeerStateFile(tmp_path, "alicia").save_token("t" * 32)
    assert follow_renames(tmp_path, "al") == "alicia"
    assert follow_renames(tmp_path, "AL") == "alicia"  # names ignore case
    assert follow_renames(tmp_path, "alicia") == "alicia"
    assert PeerStateFile(tmp_path, "alice").load_token() == ""  # no longer ours
    assert PeerStateFile(tmp_path, "alice").problems == []


def test_a_start_under_a_renamed_name_says_the_new_name_as_last_spelled(
    tmp_path: Path,
) -> None:
    # alice renamed to alicia, then /nick ALICIA (a change of case only: the same files)
    PeerStateFile(tmp_path, "alice").left_for("alicia")
    PeerStateFile(tmp_path, "alicia").save_token("t" * 32, "ALICIA")
    assert follow_renames(tmp_path, "alice") == "ALICIA"
    assert PeerStateFile(tmp_path, "alicia").load_token() == "t" * 32
    assert PeerStateFile(tmp_path, "alicia").spelling() == "ALICIA"
    PeerStateFile(tmp_path, "alicia").save_token("t" * 32)  # kept by an older ChatApp
    assert follow_renames(tmp_path, "alice") == "alicia"


def test_renames_that_lead_nowhere_or_in_a_loop_start_as_typed(tmp_path: Path) -> None:
    PeerStateFile(tmp_path, "x").left_for("y")  # y's token is gone
    assert follow_renames(tmp_path, "x") == "x"
    PeerStateFile(tmp_path, "a").left_for("b")
    PeerStateFile(tmp_path, "b").left_for("a")
    assert follow_renames(tmp_path, "a") == "a"
    assert follow_renames(tmp_path, "nobody") == "nobody"
    # renamed back: the token is written over the marker, and wins
    PeerStateFile(tmp_path, "x").save_token("u" * 32)
    assert PeerStateFile(tmp_path, "x").renamed_to() == ""
    assert follow_renames(tmp_path, "x") == "x"


def test_os_reason_is_the_systems_wording_without_the_errno_number() -> None:
    import errno

    assert files.os_reason(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")) == (
        "Connection reset by peer"
    )
    full = OSError(errno.ENOSPC, "No space left on device", "/data/alice.outbox.tmp")
    assert files.os_reason(full) == "No space left on device: /data/alice.outbox.tmp"
    assert files.os_reason(ConnectionError()) == "ConnectionError"
    assert files.os_reason(OSError("odd")) == "odd"
    # as asyncio's open_connection raises it
    refused = OSError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 9)")
    assert files.os_reason(refused) == "Connection refused"


@pytest.mark.timeout(10)
def test_state_files_that_are_named_pipes_are_said_and_never_waited_for(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.path.parent.mkdir(parents=True)
    paths = [kept.path, kept.seen_path, kept.room_path]
    for path in [*paths, kept.sending_path]:
        os.mkfifo(path)
    assert kept.load_token() == ""
    assert kept.load_seen() == []
    with pytest.raises(StartRefused, match="not a regular file"):  # the start is refused
        load_outbox(kept, "token")
    assert kept.load_room() == ""
    assert len(kept.problems) == len(paths)
    assert all("(not a regular file (a named pipe))" in line for line in kept.problems)
    with pytest.raises(files.NotRegularFile):
        kept.add_shown(Shown((("bob", "m1"),)))  # said by the node as a line, once


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.text(), st.text(min_size=1)), min_size=1, max_size=6))
def test_shown_ids_of_any_text_come_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, shown: list[tuple[str, str]]
) -> None:
    """Whatever a sender or id holds (tabs, newlines, NULs, backslashes, anything), it reads
    back as it was written."""
    kept = PeerStateFile(tmp_path_factory.mktemp("seen"), "alice")
    for sender, msg_id in shown:
        kept.add_shown(Shown(((sender, msg_id),)))
    assert kept.load_seen() == shown


def test_a_rename_moves_all_that_is_kept_for_the_name(tmp_path: Path) -> None:
    """Every file and folder kept under bob's name goes to robert's, the transfers' folder
    included (a restart as robert resumes them); nothing is left under bob but the note of
    where he went."""
    bob = PeerStateFile(tmp_path, "bob")
    bob.save_token("t" * 32, "bob")
    bob.keep("room", "teamchat")
    bob.keep(*_registries(SERVICE, KEY))
    bob.add_shown(Shown((("alice", "m-1"),)))
    bob.history_path.write_text("kept line\n")
    bob.key_path.write_bytes(b"k" * 32)
    (tmp_path / "peers" / "bob.outbox.unreadable").write_text("set aside")
    (tmp_path / "peers" / "bob.files").mkdir()
    (tmp_path / "peers" / "bob.files" / "1.json").write_text("{}")
    robert = bob.moved_to("robert", "r" * 32)
    bob.left_for("robert")
    assert (tmp_path / "peers" / "robert.files" / "1.json").read_text() == "{}"
    assert robert.load_room() == "teamchat" and robert.load_registries(KEY) == SERVICE
    assert robert.load_seen() == [("alice", "m-1")]
    assert robert.history_path.read_text() == "kept line\n"
    assert robert.key_path.read_bytes() == b"k" * 32
    assert (tmp_path / "peers" / "robert.outbox.unreadable").read_text() == "set aside"
    robert.close()
    assert sorted(p.name for p in (tmp_path / "peers").iterdir() if "bob" in p.name) == ["bob.json"]
    assert follow_renames(tmp_path, "bob") == "robert"


def test_the_transfers_moved_by_a_rename_join_those_kept_under_the_new_name(
    tmp_path: Path,
) -> None:
    """A folder already under the new name keeps its records; the moved ones join it, a
    record of the same number replaced by the moved one, the running transfer's."""
    bobs, roberts = tmp_path / "peers" / "bob.files", tmp_path / "peers" / "robert.files"
    bobs.mkdir(parents=True)
    roberts.mkdir()
    (bobs / "1.json").write_text("bob's 1")
    (roberts / "1.json").write_text("robert's 1")
    (roberts / "2.json").write_text("robert's 2")
    PeerStateFile(tmp_path, "bob").moved_to("robert", "r" * 32)
    assert not bobs.exists()
    kept = {p.name: p.read_text() for p in roberts.iterdir()}
    assert kept == {"1.json": "bob's 1", "2.json": "robert's 2"}
