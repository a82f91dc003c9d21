"""docs/ARCHITECTURE.md's lifecycle table ("The lifecycle") is the code's: each phase's
row gives, for each event, the phase peer.core.lifecycle.TRANSITIONS moves to, and `·` where
the event is undefined."""

from __future__ import annotations

from pathlib import Path

from peer.core.lifecycle import TRANSITIONS, Event, Phase

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "ARCHITECTURE.md"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented() -> dict[str, dict[str, str]]:
    """The table as the doc has it: phase name -> event name -> phase name or "·"."""
    lines = DOC.read_text().split("### The lifecycle", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| phase \\ event"))
    events = _cells(lines[start])[1:]
    table = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        phase, *cells = _cells(line)
        table[phase] = dict(zip(events, cells, strict=True))
    return table


def test_the_architecture_lifecycle_table_is_the_codes() -> None:
    code = {
        phase.name: {
            event.name: TRANSITIONS[phase][event].name if event in TRANSITIONS[phase] else "·"
            for event in Event
        }
        for phase in Phase
    }
    assert documented() == code


def test_the_phases_it_lists_are_the_codes() -> None:
    text = DOC.read_text().split("### The lifecycle", 1)[1]
    listed = text.split("Phases: ", 1)[1].split("\n\n", 1)[0]
    named = {word.strip(",.()") for word in listed.split()}
    assert {phase.name for phase in Phase} <= named
    assert {word for word in named if word.isupper() and len(word) > 1} == {p.name for p in Phase}
