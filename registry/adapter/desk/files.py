"""What the desk keeps; what the disk refuses is logged, and the desk carries on."""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, TypeVar

import msgspec
from msgspec import Meta, Struct, field
from msgspec.structs import replace

from disk.files import append_bytes, os_reason
from disk.records import read_record as disk_read
from registry.adapter.store import UNREADABLE, DeskRecord, FileStore, Store
from registry.core.credentials import TOKEN_HASH, token_hash
from registry.core.desk.actions import (
    Action,
    Emit,
    KeptPlace,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.core.desk.sessions import places as kept_places
from registry.core.desk.sessions import restore
from registry.core.desk.state import Average, DeskState
from wire.desk.phone import normalise_phone
from wire.desk.text import (
    CRISIS_REASONS,
    DANGER_MARK,
    TOPICS,
    format_duration,
    keep_said,
    topic_label,
)
from wire.keys import key_from_text

#: Where the operators' keys authorised by the operator key are kept, in the data folder.
OPERATORS_FILE = "desk-operators.json"
#: The averages of session lengths, so that estimates after a restart are not guesses again:
#: no names, numbers or times of day.
HISTORY_FILE = "desk-history.json"
#: A file per session, its text scrubbed of the person's number.
TRANSCRIPT_DIR = "desk-transcripts"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
T = TypeVar("T")

#: A topic's number, as the desk's files keep it.
Topic = Annotated[int, Meta(ge=min(TOPICS), le=max(TOPICS))]


class _History(Struct):
    overall: Average
    topics: dict[Topic, Average]


class _Operators(Struct):
    """The operators' keys (key text -> name), and the hash of the key that authorised them."""

    desk_key: str = field(name="desk-key")
    operators: dict[str, str] = {}


class DeskFiles:
    def __init__(
        self,
        data_dir: Path,
        clock: Callable[[], float],
        log: Callable[[str], None],
        desk_key: str = "",
        store: Store | None = None,
    ) -> None:
        """The keys `desk_key` authorised are kept with its hash, revoked when it changes. All
        but transcripts go in `store` (None: the files of `data_dir`), at once."""
        self._log = log
        self._store = store or FileStore(data_dir, log)
        self._transcripts = data_dir / TRANSCRIPT_DIR
        self._paths: dict[str, Path] = {}  # the transcript of each session going on
        self._clock = clock
        self._desk_key = hashlib.sha256(desk_key.encode("utf-8", "surrogatepass")).hexdigest()
        self.authorised, self._operators_problem = self._read_operators()
        # what is in the store, as last read or kept
        self._operators = dict(self.authorised)
        self._places: tuple[KeptPlace, ...] = ()
        self._history: tuple[Average, dict[int, Average]] = (Average(), {})

    def load(self, state: DeskState, now: float, emit: Emit) -> None:
        """What the run before kept: its session lengths into the estimator, its places held."""
        if self._operators_problem:
            self._log(f"{self._operators_problem}; operators show the key again")
            self._keep_operators()
        history, problem = read_record(self._store, HISTORY_FILE, _History, "averages")
        if problem:
            self._log(f"{problem}; wait estimates start with no history of session lengths")
        if history is not None:
            state.estimator.restore_history(history.overall, history.topics)
        self._history = state.estimator.history()
        places, problem = load_places(self._store, self._offset())
        self._say(problem)
        restore(state, places, now, emit)
        self._places = kept_places(state)

    def keep(self, actions: list[Action], state: DeskState) -> None:
        """Keep what changed in `state` (its places first), and the transcripts `actions` ask."""
        places = kept_places(state)
        try:
            if places != self._places:
                self._places = places
                save_places(self._store, places, self._offset())
        except OSError as exc:
            self._log(
                f"desk: could not keep the waiting room on disk ({exc.strerror or exc}); "
                "should the registry stop, its places would be lost"
            )
        if state.authorised != self._operators:
            self._operators = dict(state.authorised)
            self._keep_operators()
        for action in actions:
            if isinstance(action, SessionStarted | SessionLine | SessionEnded):
                try:
                    self._transcribe(action)
                except OSError as exc:
                    why = f"could not write the transcript of session {action.session}"
                    self._log(f"desk: {why}: {exc}")
        history = state.estimator.history()
        if history != self._history:
            self._history = history
            self._say(keep_record(self._store, HISTORY_FILE, _History(*history)))

    def _transcribe(self, record: SessionStarted | SessionLine | SessionEnded) -> None:
        """Append `record` to its session's transcript; raises OSError."""
        now = time.time()
        path = self._paths.get(record.session)
        if path is None or isinstance(record, SessionStarted):
            # a session whose start was not seen (a lost start must not lose the rest): a new
            # file. Transcripts hold whole conversations: this user's only (an existing folder
            # too); the session id is our own, but a file name is no place to trust it.
            self._transcripts.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._transcripts.chmod(0o700)
            stem = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
            path = self._transcripts / f"{stem}-{_UNSAFE.sub('_', record.session)}.txt"
            self._paths[record.session] = path
        if isinstance(record, SessionStarted):
            lines = _heading(record, now)
        elif isinstance(record, SessionLine):
            clock = time.strftime("%H:%M:%S", time.localtime(now))
            mark = f"{DANGER_MARK} " if record.crisis else ""
            lines = [f"[{clock}] {mark}{record.sender}: {record.text}"]
        else:
            del self._paths[record.session]
            length = format_duration(record.length)
            lines = [f"Ended: {_stamp(now)} ({record.reason}; length {length})"]
        ended = isinstance(record, SessionEnded)
        append_bytes(path, "".join(line + "\n" for line in lines).encode(), fsync=ended)

    def _keep_operators(self) -> None:
        kept = _Operators(self._desk_key, dict(sorted(self._operators.items())))
        self._say(keep_record(self._store, OPERATORS_FILE, kept))

    def _read_operators(self) -> tuple[dict[str, str], str]:
        """The operators' keys kept (none under another operator key), and what was wrong."""
        kept, problem = read_record(self._store, OPERATORS_FILE, _Operators, "operators' keys")
        if kept is not None and not all(key_from_text(key) for key in kept.operators):
            where = self._store.where(OPERATORS_FILE)
            kept, problem = None, f"desk: could not read {where} (it holds no operators' keys)"
        if kept is None:
            return {}, problem
        if kept.desk_key != self._desk_key:
            return (
                {},
                "desk: the operator key changed: the operators' keys it authorised are revoked",
            )
        return kept.operators, ""

    def _offset(self) -> float:
        """The time of day less the queue's clock: kept places carry the former."""
        return time.time() - self._clock()

    def _say(self, problem: str) -> None:
        if problem:
            self._log(problem)


PLACES_FILE = "desk-places.json"


class _File(Struct):
    places: list[KeptPlace]


def load_places(store: Store, offset: float) -> tuple[list[KeptPlace], str]:
    """The places kept, on the queue's clock (`offset`: the time of day, which carries them
    across a restart, less that clock), and a problem to log; a damaged record is set aside
    (under its name and UNREADABLE), as it can be."""
    path = store.where(PLACES_FILE)
    try:
        data = store.desk_record(PLACES_FILE)
    except FileNotFoundError:
        return [], ""
    except OSError as exc:
        return [], (
            f"desk: could not read the kept waiting room {path} ({exc.strerror}); no place held"
        )
    try:
        entries = msgspec.json.decode(data, type=_File).places
        return [_place(n, entry, offset) for n, entry in enumerate(entries, 1)], ""
    except (msgspec.DecodeError, ValueError) as exc:  # (ValidationError is a DecodeError)
        why = str(exc)
    aside = PLACES_FILE + UNREADABLE
    with contextlib.suppress(OSError):
        store.carry_out(DeskRecord(aside, data))
        store.carry_out(DeskRecord(PLACES_FILE, None))
    return [], (
        f"desk: the kept waiting room {path} is damaged; moved to {aside}, no place held ({why})"
    )


def save_places(store: Store, places: tuple[KeptPlace, ...], offset: float) -> None:
    """Replace the kept places (none removes the record); raises OSError."""
    entries = [replace(_moved(p, offset), token=_hashed(p.token)) for p in places]
    data = msgspec.json.format(msgspec.json.encode(_File(entries))) if places else None
    store.carry_out(DeskRecord(PLACES_FILE, data))


def _place(number: int, entry: KeptPlace, offset: float) -> KeptPlace:
    """`entry` on the queue's clock; ValueError naming place `number` for a value never kept."""
    if entry.topic not in TOPICS:
        raise ValueError(f"place {number}: topic {entry.topic} is not a topic")
    if normalise_phone(entry.phone) != entry.phone:
        raise ValueError(f"place {number}: the phone is not a number")
    if entry.crisis and entry.crisis not in CRISIS_REASONS:
        raise ValueError(f"place {number}: crisis is not a reason")
    said: tuple[str, ...] = ()
    for line in entry.said:
        said = keep_said(said, line)
    return replace(_moved(entry, -offset), said=said)


def _moved(place: KeptPlace, offset: float) -> KeptPlace:
    since = place.serving_since
    return replace(
        place, joined=place.joined + offset, serving_since=None if since is None else since + offset
    )


def _hashed(token: str) -> str:
    return token if token.startswith(TOKEN_HASH) else token_hash(token)


def read_record(store: Store, name: str, kind: type[T], holds: str) -> tuple[T | None, str]:
    """The record `name` decoded as `kind` (None: none, or unusable), and why not for the log."""
    kept, why = disk_read(partial(store.desk_record, name), kind, holds)
    return kept, why and f"desk: could not read {store.where(name)} ({why})"


def keep_record(store: Store, name: str, value: object) -> str:
    """Replace the record `name` with `value` (None: remove it); why it could not be."""
    try:
        store.carry_out(DeskRecord(name, None if value is None else msgspec.json.encode(value)))
    except OSError as exc:
        return f"desk: could not keep {store.where(name)} ({os_reason(exc)})"
    return ""


def _heading(record: SessionStarted, now: float) -> list[str]:
    told = record.told
    lines = [
        f"Help-desk session {told.session}",
        f"Person: {told.name} (phone {told.phone})",
        f"Topic: {topic_label(told.topic)}",
    ]
    if told.description:
        lines.append(f"Description: {told.description}")
    if told.crisis:
        why = CRISIS_REASONS.get(told.crisis, "words of crisis")
        lines.append(f"{DANGER_MARK} May be in danger: {why}")
    lines += [f"{DANGER_MARK} Wrote while waiting: {line}" for line in told.said]
    return [
        *lines,
        f"Operator: {record.operator}",
        f"Waited: {format_duration(told.waited)}",
        f"Started: {_stamp(now)}",
    ]


def _stamp(now: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(now))
