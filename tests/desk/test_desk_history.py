"""registry/adapter/desk/history.py: the history of session lengths kept across a restart."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from registry.adapter.desk.history import HISTORY_FILE, HistoryFile
from registry.core.desk.estimate import Average, Estimator


def learnt() -> Estimator:
    est = Estimator()
    for topic, seconds in ((1, 300.0), (1, 420.0), (3, 60.0), (1, 360.0)):
        est.record(topic, seconds)
    return est


def test_the_history_round_trips_and_holds_nothing_personal(tmp_path: Path) -> None:
    kept = HistoryFile(tmp_path)
    assert kept.load() == (None, "")  # a first start: no history, and nothing to say
    est = learnt()
    assert kept.save(est.history()) == ""
    assert stat.S_IMODE((tmp_path / HISTORY_FILE).stat().st_mode) == 0o600
    history, problem = kept.load()
    assert problem == "" and history == est.history()
    assert set(json.loads((tmp_path / HISTORY_FILE).read_text())) == {"overall", "topics"}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "it is not JSON"),
        ("[1, 2]", "no averages"),
        ('{"overall": {"count": 3, "mean": 1, "dev": 0}}', "no averages"),
        ('{"overall": {"count": 3, "mean": NaN, "dev": 0}, "topics": {}}', "it is not JSON"),
        ('{"overall": {"count": -1, "mean": 5, "dev": 0}, "topics": {}}', "no averages"),
        ('{"overall": {"count": 3, "mean": 5, "dev": 0}, "topics": {"9": {}}}', "no averages"),
        ('{"overall": {"count": 3, "mean": 5, "dev": 0}, "topics": {"1": {"count": true, '
         '"mean": 5, "dev": 0}}}', "no averages"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_and_no_history(tmp_path: Path, content: str, why: str) -> None:
    (tmp_path / HISTORY_FILE).write_text(content)
    history, problem = HistoryFile(tmp_path).load()
    assert history is None
    assert why in problem and "\n" not in problem
    assert problem.endswith("wait estimates start with no history of session lengths")


def test_a_file_that_cannot_be_read_or_written_is_said_and_nothing_stops(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).mkdir()  # a directory where the file should be
    kept = HistoryFile(tmp_path)
    history, problem = kept.load()
    assert history is None and problem.startswith("desk: could not read")
    problem = kept.save((Average(3, 10.0, 1.0), {}))
    assert problem.startswith("desk: could not keep the history of session lengths")
