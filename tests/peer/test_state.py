"""The peer's kept state: its token and the ids it has shown."""

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
