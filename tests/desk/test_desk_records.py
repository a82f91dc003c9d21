"""Transcripts on disk (registry/adapter/desk/files.py): what a file reads."""

from __future__ import annotations

from pathlib import Path

from registry.adapter.desk.files import TRANSCRIPT_DIR, DeskFiles
from registry.core.desk.actions import Action, SessionEnded, SessionLine, SessionStarted
from registry.core.desk.limits import DEFAULTS
from registry.core.desk.state import DeskState
from wire.desk.messages import CRISIS_WAITING, DeskSession


def started(name: str, topic: int) -> DeskSession:
    return DeskSession("d", "s1", name, "********56", topic, "", 5, "", ())


def transcript(data_dir: Path, *records: Action) -> list[str]:
    """The lines of the one transcript the desk's files write of `records`."""
    DeskFiles(data_dir, lambda: 0.0, print).keep(
        list(records), DeskState(str, str, "", None, DEFAULTS)
    )
    [path] = (data_dir / TRANSCRIPT_DIR).glob("*.txt")
    return path.read_text().splitlines()


def test_a_transcript_begins_with_the_danger_mark_and_what_was_typed_while_waiting(
    tmp_path: Path,
) -> None:
    # found by trying it: the transcript left both out, though the operator saw them
    said = ("I might kill myself tonight", "call me on ********56")
    lines = transcript(
        tmp_path,
        SessionStarted(
            "ann", DeskSession("d", "s1", "Maria", "********56", 3, "", 65, CRISIS_WAITING, said)
        ),
        SessionLine("s1", "ann", "I am here"),
        SessionEnded("s1", "ended by the operator", 30.0),
    )
    assert lines[3:6] == [
        "!!! May be in danger: they wrote of it while waiting",
        "!!! Wrote while waiting: I might kill myself tonight",
        "!!! Wrote while waiting: call me on ********56",
    ]
    assert lines[6] == "Operator: ann"
    assert lines[-2].endswith("] ann: I am here")


def test_a_transcript_without_a_mark_has_no_such_lines(tmp_path: Path) -> None:
    lines = transcript(tmp_path, SessionStarted("ann", started("Bob", 2)))
    assert not [line for line in lines if "!!!" in line]


def test_a_line_of_crisis_in_a_session_is_marked_in_the_transcript(tmp_path: Path) -> None:
    lines = transcript(
        tmp_path,
        SessionStarted("ann", started("Maria", 3)),
        SessionLine("s1", "Maria", "some days I want to die", crisis=True),
        SessionLine("s1", "Maria", "but not today"),
    )
    assert lines[-2].endswith("] !!! Maria: some days I want to die")
    assert lines[-1].endswith("] Maria: but not today")
