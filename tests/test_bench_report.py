"""bench/report.py: the tables of a run written where a person can diff them, and the
send_all series read back from its table for the plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import report
from bench.common import Table

COLUMNS = ["loop", "members", "receivers", "median", "p99", "ngircd, 100", "ratio", "target"]


def send_all_table() -> str:
    table = Table("send_all: typed until every member has it (with acks) vs ngircd", COLUMNS)
    table.add("asyncio", 10, "PeerNodes", "0.50 ms", "0.70 ms", "0.55 ms", "0.91x", "")
    table.add("asyncio", 100, "PeerNodes", "3.01 ms", "3.50 ms", "0.55 ms", "5.47x", "")
    table.add("asyncio", 1000, "PeerNodes", "1,401.00 ms", "1,500 ms", "0.55 ms", "n/a", "")
    table.add("asyncio", 100, "minimal", "1.01 ms", "1.20 ms", "0.55 ms", "1.84x", "")
    table.note("asyncio, 10 PeerNodes: a note under the table")
    return table.render()


def test_the_send_all_series_are_read_from_its_table_and_others_are_ignored() -> None:
    other = Table("direct: something else", ["loop", "members"])
    other.add("asyncio", 10)
    series = report.send_all_series([other.render(), send_all_table()])
    # a table made on the compiled build says so, and its lines are named for it
    build = " (compiled build)" if "[compiled build]" in send_all_table() else ""
    assert series == {
        f"asyncio, PeerNodes{build}": [(10, 0.5), (100, 3.01), (1000, 1401.0)],
        f"asyncio, minimal{build}": [(100, 1.01)],
        "asyncio, ngircd": [(100, 0.55)],
    }


def test_each_run_replaces_latest_and_keeps_the_one_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    monkeypatch.setattr(report, "plot_send_all", lambda tables, path: "")
    report.write(["### first\n"], ["- loops: asyncio"])
    written = report.write(["### second\n"], ["- loops: asyncio"])
    assert written == tmp_path / "latest.md"
    assert "### second" in written.read_text() and "- commit: " in written.read_text()
    assert "### first" in (tmp_path / "previous.md").read_text()
