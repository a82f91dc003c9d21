"""What the question before quitting says of file transfers: each unfinished one keeps its
record in the name's transfer folder until it ends."""

from __future__ import annotations

from pathlib import Path

from peer.adapter.files.service import unfinished_transfers


def test_unfinished_transfers_are_counted_from_their_records(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    assert unfinished_transfers(folder) == []  # none ever: no folder
    folder.mkdir()
    (folder / "3.json").write_text("{}")
    assert unfinished_transfers(folder) == ["1 file transfer is unfinished"]
    (folder / "4.json").write_text("{}")
    (folder / "5.damaged").write_text("")
    assert unfinished_transfers(folder) == ["2 file transfers are unfinished"]
