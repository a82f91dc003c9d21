"""What the help desk keeps, as its adapter uses it: places, session lengths and operators'
keys on its shelf (`registry.adapter.desk.shelf`), transcripts in the data directory. What the disk
refuses is said in the log, and the desk carries on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from msgspec import Meta, Struct, field

from registry.adapter.desk.places import PlacesFile
from registry.adapter.desk.records import TranscriptStore
from registry.adapter.desk.shelf import FolderShelf, Shelf, keep_record, read_record
from registry.core.desk.actions import (
    Action,
    KeepOperators,
    KeepPlaces,
    KeptPlace,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.core.desk.estimate import Average, Estimator
from wire.desk.text import TOPICS
from wire.keys import key_from_text

#: Where the operators' keys authorised by the operator key are kept, in the data folder.
OPERATORS_FILE = "desk-operators.json"
#: The averages of session lengths (registry.core.desk.estimate), so that estimates after
#: a restart are not guesses again: no names, numbers or times of day.
HISTORY_FILE = "desk-history.json"

#: A topic's number, as the desk's files keep it.
Topic = Annotated[int, Meta(ge=min(TOPICS), le=max(TOPICS))]


class _History(Struct):
    """The overall average of session lengths, and each topic's by its number."""

    overall: Average
    topics: dict[Topic, Average]


class _Operators(Struct):
    """The operators' keys (key text -> name), and the hash of the operator key that
    authorised them."""

    desk_key: str = field(name="desk-key")
    operators: dict[str, str] = {}


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
        self._history_kept: tuple[Average, dict[int, Average]] | None = None  # as last kept
        self._desk_key = hashlib.sha256(desk_key.encode("utf-8", "surrogatepass")).hexdigest()
        #: The operators' keys authorised by a run before (key text -> name).
        self.authorised, self._operators_problem = self._read_operators()

    def load(self, estimator: Estimator) -> list[KeptPlace]:
        """What the run before kept: the session lengths it learnt go into `estimator`, and
        the places it held are returned, in order. Each file that could not be used is
        said in the log (and counts as none)."""
        if self._operators_problem:
            self._log(f"{self._operators_problem}; operators show the key again")
            self._keep_operators(KeepOperators(tuple(sorted(self.authorised.items()))))
        history, problem = read_record(self.shelf, HISTORY_FILE, _History, "averages")
        if problem:
            self._log(f"{problem}; wait estimates start with no history of session lengths")
        if history is not None:
            estimator.restore_history(history.overall, history.topics)
        self._history_kept = estimator.history()
        places, problem = self._places.load()
        if problem:
            self._log(problem)
        return places

    def keep(self, actions: list[Action], estimator: Estimator) -> None:
        """Keep what `actions` ask for: the last places among them first, then operators'
        keys and transcripts, and after a session ended what `estimator` learnt, if new."""
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
            self._say(keep_record(self.shelf, HISTORY_FILE, _History(*history)))

    def _keep_operators(self, action: KeepOperators) -> None:
        """Keep the authorised operators' keys (said in the log when it fails: each would
        then need the operator key again after a restart)."""
        kept = _Operators(self._desk_key, dict(action.keys))
        self._say(keep_record(self.shelf, OPERATORS_FILE, kept))

    def _read_operators(self) -> tuple[dict[str, str], str]:
        """The authorised operators' keys kept on the shelf, and what was wrong with them
        ("" when nothing): none when damaged, or kept under another operator key."""
        kept, problem = read_record(self.shelf, OPERATORS_FILE, _Operators, "operators' keys")
        if kept is not None and not all(key_from_text(key) for key in kept.operators):
            where = self.shelf.where(OPERATORS_FILE)
            kept, problem = None, f"desk: could not read {where} (it holds no operators' keys)"
        if kept is None:
            return {}, problem
        if kept.desk_key != self._desk_key:
            return (
                {},
                "desk: the operator key changed: the operators' keys it authorised are revoked",
            )
        return kept.operators, ""

    def _say(self, problem: str) -> None:
        if problem:
            self._log(problem)

    def _record(self, record: SessionStarted | SessionLine | SessionEnded) -> None:
        try:
            self._records.write(record)
        except OSError as exc:
            self._log(f"desk: could not write the transcript of session {record.session}: {exc}")
