"""The records of a peer's transfers (peer/adapter/files/service.py) follow the
peer's name: a rename moves them, and the next record is written under the new name."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec.structs import replace

from disk.records import keep_record
from peer.adapter.files.service import load_records
from peer.adapter.state import PeerStateFile
from peer.core.files.transfer import Role, Transfer, TransferPhase


@pytest.mark.timeout(10)
def test_a_transfer_across_a_rename_is_kept_and_taken_up_under_the_new_name(
    tmp_path: Path,
) -> None:
    state = PeerStateFile(tmp_path, "bob")
    transfer = Transfer(1, Role.RECEIVE, "o-1", "alice", "k", "f.bin", 100, "0" * 64)
    transfer.phase = TransferPhase.MOVING
    keep_record(
        state.files_path / "1.json", replace(transfer, verified=10)
    )  # in its name's folder now
    state = state.moved_to("robert", "t" * 32)  # /nick robert, the transfer going on
    keep_record(state.files_path / "1.json", replace(transfer, verified=20))
    kept, problems = load_records(PeerStateFile(tmp_path, "robert").files_path)
    assert (kept, problems) == ([replace(transfer, verified=20)], [])
    assert not (tmp_path / "peers" / "bob.files").exists()
