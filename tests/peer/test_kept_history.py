"""The commands typed at a peer's prompt, kept between runs in its state folder."""

from __future__ import annotations

import stat
from pathlib import Path

from peer.adapter.kept_history import KEEP, KeptHistory


def test_what_one_run_keeps_the_next_run_reads_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "alice.history"
    first = KeptHistory(lambda: path)
    for line in ("who", "send bob hi", 'say "quoted"\tand tabbed'):
        first.store_string(line)
    assert list(KeptHistory(lambda: path).load_history_strings()) == [
        'say "quoted"\tand tabbed',
        "send bob hi",
        "who",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_line_holding_the_password_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "alice.history"
    kept = KeptHistory(lambda: path, secret="hunter2-long")
    kept.store_string("hunter2-long")
    kept.store_string("send bob my password is hunter2-long")
    kept.store_string("who")
    assert "hunter2" not in path.read_text()
    assert list(KeptHistory(lambda: path).load_history_strings()) == ["who"]


def test_the_file_follows_the_name_and_a_bad_one_is_passed_over(tmp_path: Path) -> None:
    where = [tmp_path / "carol.history"]
    kept = KeptHistory(lambda: where[0])
    kept.store_string("one")
    where[0] = tmp_path / "caroline.history"  # renamed: the file was moved
    where[0].write_bytes(b'"one"\nnot json\n\xff\xfe\n42\n')
    kept.store_string("two")
    assert list(KeptHistory(lambda: where[0]).load_history_strings()) == ["two", "one"]
    assert list(KeptHistory(lambda: tmp_path / "none" / "x").load_history_strings()) == []
    KeptHistory(lambda: tmp_path / "none" / "x").store_string("lost, quietly")


def test_only_the_last_entries_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "alice.history"
    kept = KeptHistory(lambda: path)
    for n in range(KEEP + 50):
        kept.store_string(f"line {n}")
    loaded = list(KeptHistory(lambda: path).load_history_strings())
    assert len(loaded) == KEEP and loaded[0] == f"line {KEEP + 49}"
    assert len(path.read_text().splitlines()) == KEEP  # compacted as it was read
