"""A peer loads its file transfers when first needed (peer/adapter/files/service.py): a
peer that sends no file pays nothing for them. What is imported, not how long it takes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(30)
def test_a_peer_loads_no_file_transfer_until_one_is_needed() -> None:
    check = (
        "import sys, peer.adapter.node, peer.adapter.files.service; "
        "print(sorted(m for m in sys.modules if '.files.' in m and m.startswith('peer')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['peer.adapter.files.service']"
