"""The peer's kept state: its token and the ids it has shown."""

import signal
import subprocess
import sys
from pathlib import Path

from peer import state
from peer.state import PeerStateFile


def test_token_round_trip_private_file(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "Alice")
    assert kept.load_token() == ""
    kept.save_token("secret")
    assert PeerStateFile(tmp_path, "alice").load_token() == "secret"
    assert (kept.path.stat().st_mode & 0o777) == 0o600


def test_corrupt_token_file_reads_as_none(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.path.parent.mkdir(parents=True)
    kept.path.write_text("{not json")
    assert kept.load_token() == ""


def test_shown_ids_survive_and_are_compacted(tmp_path: Path, monkeypatch: object) -> None:
    monkeypatch.setattr(state, "KEEP_SEEN", 10)  # type: ignore[attr-defined]
    kept = PeerStateFile(tmp_path, "alice")
    for i in range(25):
        kept.add_seen([("bob", f"b-{i}")])
    kept.add_seen([("carol", "c-1"), ("bob", "b-25")])  # a datagram's worth, in one write
    again = PeerStateFile(tmp_path, "alice").load_seen()
    assert again[-2:] == [("carol", "c-1"), ("bob", "b-25")] and len(again) <= 10


def test_outbox_round_trip(tmp_path: Path) -> None:
    from wire.messages import ChannelPost, SaveMessage

    kept = PeerStateFile(tmp_path, "alice")
    assert kept.load_outbox() == []
    messages = (
        SaveMessage("a-1", "alice", "t", "bob", "hi ☃"),
        ChannelPost("a-2", "alice", "t", "all"),
    )
    kept.save_outbox(messages)
    assert tuple(PeerStateFile(tmp_path, "alice").load_outbox()) == messages
    kept.save_outbox(())
    assert not kept.outbox_path.exists()


def test_shown_ids_grow_past_one_chunk_and_survive(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    records = [("bob", f"session-{i:08d}") for i in range(3 * state.SEEN_CHUNK // 20)]
    for i in range(0, len(records), 7):  # datagrams of up to seven
        kept.add_seen(records[i : i + 7])
    kept.close()
    assert PeerStateFile(tmp_path, "alice").load_seen() == records[-state.KEEP_SEEN :]
    # the file is padded to whole chunks, and the padding is not read as records
    assert kept.seen_path.stat().st_size % state.SEEN_CHUNK == 0


def test_a_record_cut_short_by_a_kill_is_dropped(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.seen_path.parent.mkdir(parents=True)
    # the last copy into the map stopped partway: no newline yet, padding after it
    kept.seen_path.write_bytes(b"bob\tb-1\nbob\tb-2\n" + b"bob\tb-3" + bytes(100))
    assert kept.load_seen() == [("bob", "b-1"), ("bob", "b-2")]
    kept.add_seen([("carol", "c-1")])  # written where the cut record was
    assert PeerStateFile(tmp_path, "alice").load_seen() == [
        ("bob", "b-1"),
        ("bob", "b-2"),
        ("carol", "c-1"),
    ]


def test_a_record_with_bytes_missing_is_skipped(tmp_path: Path) -> None:
    kept = PeerStateFile(tmp_path, "alice")
    kept.seen_path.parent.mkdir(parents=True)
    # a copy that wrote the newline before the middle: the missing bytes are still NULs
    kept.seen_path.write_bytes(b"bob\tb-1\nbob\tb\0\0\0\n" + bytes(50))
    assert kept.load_seen() == [("bob", "b-1")]
    kept.add_seen([("bob", "b-2")])
    assert PeerStateFile(tmp_path, "alice").load_seen() == [("bob", "b-1"), ("bob", "b-2")]


def test_shown_ids_survive_a_killed_process(tmp_path: Path) -> None:
    # no close, no flush, no exit handlers: what was recorded is the kernel's already
    code = (
        "import os, signal, sys; from pathlib import Path; from peer.state import PeerStateFile\n"
        "kept = PeerStateFile(Path(sys.argv[1]), 'alice')\n"
        "kept.add_seen([('bob', 'b-1'), ('carol', 'c-1')])\n"
        "kept.add_seen([('bob', 'b-2')])\n"
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
