"""The numbers docs/GUIDE.md promises are the program's: each is read from the guide's text
and compared with the constant that keeps it, so that neither moves alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from peer.adapter.files.pull import READ_SIZE
from peer.adapter.files.service import PIECE
from peer.core.files.transfers import PROGRESS_STEP
from registry.core.rooms import MAX_MEMBERS, MAX_ROOMS
from wire.limits import MAX_FAREWELL
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT

GUIDE = (Path(__file__).resolve().parent.parent / "docs" / "GUIDE.md").read_text()


def said(pattern: str) -> tuple[str, ...]:
    """The groups of the guide's one match of `pattern`."""
    found = re.findall(pattern, GUIDE)
    assert len(found) == 1, f"docs/GUIDE.md says {pattern!r} {len(found)} times, not once"
    return found[0] if isinstance(found[0], tuple) else (found[0],)


def test_a_direct_message_is_tried_as_often_and_as_far_apart_as_the_guide_says() -> None:
    tries, apart = said(r"Unacknowledged after (\d+) tries ([\d.]+) s apart")
    assert (int(tries), float(apart)) == (ATTEMPTS, DIRECT_TIMEOUT)


def test_rooms_are_as_many_and_as_large_as_the_guide_says() -> None:
    rooms, people = said(r"at most (\d+) exist, each of (\d+) people at most")
    assert (int(rooms), int(people)) == (MAX_ROOMS, MAX_MEMBERS)


@pytest.mark.parametrize("what", ["/away lunch", "/topic Friday release", "/quit see you"])
def test_an_away_mark_a_topic_and_a_farewell_are_as_long_as_the_guide_says(what: str) -> None:
    (most,) = said(re.escape(what) + r"`[^\n]*?\((\d+) characters at most\)")
    assert int(most) == MAX_FAREWELL


def test_a_files_progress_is_said_as_often_as_the_guide_says() -> None:
    (every, each) = said(r"Progress shows about every (\d+)%, at most once a (\d*) ?MiB")
    assert (int(every), int(each or 1)) == (PROGRESS_STEP, PIECE >> 20)
    assert PIECE == READ_SIZE  # (a sender says it at each piece, a receiver at each read size)
