"""bench/common.py's CPU budgets: a process given one runs at that share of a CPU, as on a
smaller machine, and nothing of the budget is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import CGROUP_CPU, budget_unavailable, budgeted, budgets

pytestmark = pytest.mark.skipif(bool(budget_unavailable()), reason=budget_unavailable())


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timeout(30)
def test_a_budgeted_process_uses_its_share_of_a_cpu_and_its_group_goes_with_the_budgets() -> None:
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with budgets(0.1):
            budgeted(spin.pid)
            groups = list(CGROUP_CPU.glob(f"chatapp-bench-{os.getpid()}-*"))
            assert len(groups) == 1
            assert (groups[0] / "cgroup.procs").read_text().split() == [str(spin.pid)]
            start, used = time.monotonic(), _cpu_of(spin.pid)
            while _cpu_of(spin.pid) - used < 0.2:  # (it spins as fast as it may)
                time.sleep(0.05)
            # 0.2 s of CPU at 0.1 of a CPU takes 2 s, give or take a tick of accounting
            assert time.monotonic() - start > 1.5
        assert not list(CGROUP_CPU.glob(f"chatapp-bench-{os.getpid()}-*"))
        assert spin.poll() is None  # (still running, in the root group again)
    finally:
        spin.kill()
        spin.wait()


def test_without_budgets_a_process_stays_where_it_is() -> None:
    spin = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        budgeted(spin.pid)
        assert not list(CGROUP_CPU.glob(f"chatapp-bench-{os.getpid()}-*"))
    finally:
        spin.kill()
        spin.wait()
