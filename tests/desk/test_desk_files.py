"""What the desk's adapter keeps on disk (registry.adapter.desk.files): the places first, the
operators' keys, transcripts, the session lengths only when they changed, and every file
it cannot use or write said in the log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from registry.adapter.desk.files import (
    HISTORY_FILE,
    OPERATORS_FILE,
    PLACES_FILE,
    TRANSCRIPT_DIR,
    DeskFiles,
)
from registry.core.credentials import token_matches
from registry.core.desk.actions import SessionEnded, SessionLine, SessionStarted
from registry.core.desk.limits import DEFAULTS
from registry.core.desk.state import DeskState, Person
from secure.noise import public_bytes
from wire.desk.messages import DeskSession
from wire.keys import key_text

KEY = key_text(public_bytes(X25519PrivateKey.generate()))


def desk(*tokens: str, authorised: dict[str, str] | None = None) -> DeskState:
    """A desk where someone waits with each of `tokens`."""
    state = DeskState(str, str, "", authorised, DEFAULTS)
    for token in tokens:
        state.waiting.append(Person(token, "Alice", "+447700900123", 2, "", 10.0, None))
    return state


def loaded(kept: DeskFiles) -> DeskState:
    state = desk()
    kept.load(state, 100.0, [].append)
    return state


def files(tmp_path: Path, logs: list[str]) -> DeskFiles:
    return DeskFiles(tmp_path, lambda: 100.0, logs.append)


def test_a_first_start_finds_nothing_and_says_nothing(tmp_path: Path) -> None:
    logs: list[str] = []
    kept = files(tmp_path, logs)
    assert kept.authorised == {}
    assert loaded(kept).waiting == [] and logs == []


def test_the_last_places_asked_for_are_kept_and_found_again(tmp_path: Path) -> None:
    logs: list[str] = []
    kept = files(tmp_path, logs)
    kept.keep([], desk("a"))
    state = desk("b")
    kept.keep([], state)
    [found] = loaded(files(tmp_path, logs)).waiting
    assert token_matches("b", found.token)  # kept as its hash (registry/adapter/desk/files.py)
    kept.keep([], state)  # nothing changed: nothing to keep
    assert (tmp_path / PLACES_FILE).exists() and logs == []


def test_the_operators_keys_are_kept_and_read_at_the_next_start(tmp_path: Path) -> None:
    logs: list[str] = []
    files(tmp_path, logs).keep([], desk(authorised={KEY: "ann"}))
    kept = json.loads((tmp_path / OPERATORS_FILE).read_text())
    assert kept["operators"] == {KEY: "ann"}  # with the operator key's hash
    assert files(tmp_path, logs).authorised == {KEY: "ann"} and logs == []


def test_a_damaged_operators_file_is_read_as_none_and_said_once_loaded(tmp_path: Path) -> None:
    (tmp_path / OPERATORS_FILE).write_text(json.dumps({"desk-key": "", "operators": {"x": "ann"}}))
    logs: list[str] = []
    kept = files(tmp_path, logs)
    assert kept.authorised == {} and logs == []
    loaded(kept)
    assert logs == [
        f"desk: could not read {tmp_path / OPERATORS_FILE} (it holds no operators' keys); "
        "operators show the key again"
    ]


def test_a_session_goes_into_its_transcript(tmp_path: Path) -> None:
    logs: list[str] = []
    kept = files(tmp_path, logs)
    started = SessionStarted("ann", DeskSession("d", "s-1", "Alice", "***23", 2, "", 5, "", ()))
    kept.keep([started, SessionLine("s-1", "ann", "hello", False)], desk())
    kept.keep([SessionEnded("s-1", "ended by the operator", 60.0)], desk())
    (transcript,) = (tmp_path / TRANSCRIPT_DIR).iterdir()
    assert "hello" in transcript.read_text() and logs == []


def test_the_session_lengths_are_written_only_when_they_changed(tmp_path: Path) -> None:
    logs: list[str] = []
    kept = files(tmp_path, logs)
    state = loaded(kept)
    ended = SessionEnded("s-1", "ended by the operator", 0.0)
    kept.keep([ended], state)
    assert not (tmp_path / HISTORY_FILE).exists()  # nothing learnt yet: nothing written
    state.estimator.record(2, 300.0)
    kept.keep([ended], state)
    learnt = loaded(files(tmp_path, logs)).estimator
    assert learnt.history() == state.estimator.history() and logs == []


def test_what_the_disk_refuses_is_said_in_the_log(tmp_path: Path) -> None:
    logs: list[str] = []
    kept = DeskFiles(tmp_path / "gone", lambda: 100.0, logs.append)
    shutil.rmtree(tmp_path / "gone")  # the data folder taken away under the desk
    kept.keep([], desk("a", authorised={KEY: "ann"}))
    assert "could not keep the waiting room on disk" in logs[0]
    assert f"could not keep {tmp_path / 'gone' / OPERATORS_FILE}" in logs[1]
