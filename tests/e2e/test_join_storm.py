"""A join storm of 1,000 real peers, then their registry killed and started again with all of
them online: every peer registers and every table holds all 1,000 online, every peer hears
from the restarted registry, and none gives up (`[Could not register ...]`).

The peers are bench/storm.py's: 4 processes of 250, each peer on a loopback address of its
own, as on a LAN. Opt-in (--run-soak): it takes about half a minute of both CPUs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bench import storm

pytestmark = [pytest.mark.soak, pytest.mark.timeout(300)]

PEERS = 1000


def test_a_storm_of_1000_and_a_restart_with_all_online_lose_nobody(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the registry's and the crowds' folders (made by tempfile, here and in the crowds' processes)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    join, restart = storm.ours(PEERS, procs=4, limit=90.0)
    assert (join.done, join.gave_up) == (PEERS, 0), join
    assert (restart.done, restart.gave_up) == (PEERS, 0), restart
