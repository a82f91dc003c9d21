"""Data folders are their user's alone: made 0700, and one others could read (made by an
earlier version, or by hand) tightened at the next start, saying so in one line."""

from __future__ import annotations

import os
import re
import stat

import pytest

from .harness import WELCOME, ChatEnv


@pytest.mark.timeout(40)
def test_folders_others_could_read_are_tightened_and_said(chat: ChatEnv) -> None:
    for folder in (chat.registry_dir, chat.peer_dir):
        os.chmod(folder, 0o755)
    registry = chat.start_registry()
    # (said among the start lines, which the harness reads up to the join code)
    said = rf"{re.escape(str(chat.registry_dir))} could be read by others \(mode 755\)"
    assert registry.count(said) == 1
    alice = chat.start_peer("alice", wait=False)
    alice.expect_line(WELCOME)  # still the first line a script reads
    alice.expect(rf"\[{re.escape(str(chat.peer_dir))} could be read by others")
    for folder in (chat.registry_dir, chat.peer_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    registry.kill()
    fresh = chat.root / "fresh" / "registry"  # a folder the registry makes itself
    registry = chat.start_registry(data_dir=fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert registry.count("could be read by others") == 0
