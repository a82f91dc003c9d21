"""What the help desk keeps, as its adapter uses it: places, session lengths and operators'
keys on its shelf (`registry.adapter.desk.shelf`), transcripts in the data directory. What the disk
refuses is said in the log, and the desk carries on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from disk.files import os_reason, parse_json
from registry.adapter.desk.history import History, HistoryFile
from registry.adapter.desk.places import PlacesFile
from registry.adapter.desk.records import TranscriptStore
from registry.adapter.desk.shelf import FolderShelf, Shelf
from registry.core.desk.actions import (
    Action,
    KeepOperators,
    KeepPlaces,
    KeptPlace,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.core.desk.estimate import Estimator
from wire.keys import key_from_text

#: Where the operators' keys authorised by the operator key are kept, in the data folder.
OPERATORS_FILE = "desk-operators.json"


class DeskFiles:
    """The desk's files in `data_dir`; `clock` is the desk's clock (places carry their
    times across a restart by it), `log` takes the lines that say what went wrong."""

    def __init__(
        self,
        data_dir: Path,
        clock: Callable[[], float],
        log: Callable[[str], None],
        desk_key: str = "",
        shelf: Shelf | None = None,
    ) -> None:
        """`desk_key` is the operator key: the operators' keys it authorised are kept with
        its hash, and all revoked once the operator key is another. All but transcripts
        are kept on `shelf` (by default, files in `data_dir`)."""
        self._log = log
        self.shelf = shelf or FolderShelf(data_dir)
        self._records = TranscriptStore(data_dir)
        self._places = PlacesFile(self.shelf, clock)
        self._history = HistoryFile(self.shelf)
        self._history_kept: History | None = None  # as last kept on disk
        self._desk_key = _key_hash(desk_key)
        #: The operators' keys authorised by a run before (key text -> name).
        self.authorised, self._operators_problem = _read_operators(self.shelf, self._desk_key)

    def load(self, estimator: Estimator) -> list[KeptPlace]:
        """What the run before kept: the session lengths it learnt go into `estimator`, and
        the places it held are returned, in order. Each file that could not be used is
        said in the log (and counts as none)."""
        if self._operators_problem:
            self._log(f"desk: {self._operators_problem}; operators show the key again")
            self._keep_operators(KeepOperators(tuple(sorted(self.authorised.items()))))
        history, problem = self._history.load()
        if problem:
            self._log(problem)
        if history is not None:
            estimator.restore_history(*history)
        self._history_kept = estimator.history()
        places, problem = self._places.load()
        if problem:
            self._log(problem)
        return places

    def keep(self, actions: list[Action], estimator: Estimator) -> None:
        """Keep what `actions` ask for: the last of the places among them (KeepPlaces)
        first, the operators' keys, the lines of transcripts, and after a session ended the
        session lengths `estimator` learnt, if they changed (a session cut short by its
        operator teaches nothing)."""
        places = [action.places for action in actions if isinstance(action, KeepPlaces)]
        try:
            if places:
                self._places.save(places[-1])
        except OSError as exc:
            self._log(
                f"desk: could not keep the waiting room on disk ({exc.strerror or exc}); "
                "should the registry stop, its places would be lost"
            )
        for action in actions:
            if isinstance(action, KeepOperators):
                self._keep_operators(action)
            elif isinstance(action, SessionStarted | SessionLine | SessionEnded):
                self._record(action)
        if not any(isinstance(action, SessionEnded) for action in actions):
            return
        history = estimator.history()
        if history != self._history_kept:
            self._history_kept = history
            problem = self._history.save(history)
            if problem:
                self._log(problem)

    def _keep_operators(self, action: KeepOperators) -> None:
        """Keep the authorised operators' keys (said in the log when it fails: each would
        then need the operator key again after a restart)."""
        kept = {"desk-key": self._desk_key, "operators": dict(action.keys)}
        data = json.dumps(kept, indent=2, sort_keys=True) + "\n"
        try:
            self.shelf.write(OPERATORS_FILE, data.encode("utf-8"))
        except OSError as exc:
            self._log(f"desk: could not keep {self.shelf.where(OPERATORS_FILE)}: {os_reason(exc)}")

    def _record(self, record: SessionStarted | SessionLine | SessionEnded) -> None:
        try:
            self._records.write(record)
        except OSError as exc:
            self._log(f"desk: could not write the transcript of session {record.session}: {exc}")


def _key_hash(desk_key: str) -> str:
    """What the operators' file keeps of the operator key: its SHA-256, to know it again."""
    return hashlib.sha256(desk_key.encode("utf-8", "surrogatepass")).hexdigest()


def _read_operators(shelf: Shelf, desk_key: str) -> tuple[dict[str, str], str]:
    """The authorised operators' keys kept on `shelf` (key text -> name), and what was wrong
    with the file ("" when nothing): a damaged one is read as empty, and so is one kept
    under an operator key other than `desk_key` (its hash): a new operator key revokes
    every key the old one authorised. Each operator then shows the operator key once
    more. (A file of before the hash was kept, a table alone, is read as it is.)"""
    path = shelf.where(OPERATORS_FILE)
    try:
        data = parse_json(shelf.read(OPERATORS_FILE).decode())
    except FileNotFoundError:
        return {}, ""
    except (OSError, ValueError, RecursionError) as exc:
        return {}, f"{path}: {exc}"
    if isinstance(data, dict) and "operators" in data:
        if data.get("desk-key") != desk_key:
            return {}, "the operator key changed: the operators' keys it authorised are revoked"
        data = data["operators"]
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and key_from_text(k) and isinstance(v, str) for k, v in data.items()
    ):
        return {}, f"{path}: not a table of operators' keys"
    return dict(data), ""
