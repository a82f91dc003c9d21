"""The history of session lengths kept across a restart (registry/adapter/desk/files.py):
estimates after it are not guesses again, and a file that cannot be used is one line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from registry.adapter.desk.files import HISTORY_FILE, DeskFiles
from registry.core.desk.limits import DEFAULTS
from registry.core.desk.state import DeskState, Estimator


def desk() -> DeskState:
    return DeskState(str, str, "", None, DEFAULTS)


def learnt() -> DeskState:
    state = desk()
    for topic, seconds in ((1, 300.0), (1, 420.0), (3, 60.0), (1, 360.0)):
        state.estimator.record(topic, seconds)
    return state


def loaded(kept: DeskFiles) -> Estimator:
    state = desk()
    kept.load(state, 0.0, [].append)
    return state.estimator


def files(where: Path, logs: list[str]) -> DeskFiles:
    return DeskFiles(where, lambda: 0.0, logs.append)


def test_the_history_round_trips_and_holds_nothing_personal(tmp_path: Path) -> None:
    logs: list[str] = []
    first = loaded(files(tmp_path, logs))
    assert first.history() == Estimator().history() and logs == []  # a first start
    state = learnt()
    kept = files(tmp_path, logs)
    loaded(kept)
    kept.keep([], state)
    assert stat.S_IMODE((tmp_path / HISTORY_FILE).stat().st_mode) == 0o600
    again = loaded(files(tmp_path, logs))
    assert again.history() == state.estimator.history() and logs == []
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
    logs: list[str] = []
    est = loaded(files(tmp_path, logs))
    assert est.history() == Estimator().history()
    [problem] = logs
    assert why in problem and "\n" not in problem
    assert problem.endswith("wait estimates start with no history of session lengths")


def test_a_file_that_cannot_be_read_or_written_is_said_and_nothing_stops(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).mkdir()  # a directory where the file should be
    logs: list[str] = []
    kept = files(tmp_path, logs)
    loaded(kept)
    assert logs[0].startswith("desk: could not read")
    kept.keep([], learnt())
    assert logs[1].startswith(f"desk: could not keep {tmp_path / HISTORY_FILE}")
