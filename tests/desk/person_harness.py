"""What the tests of the desk clients share: what their actions show and send; a PersonCore
on a clock of numbers, taken through the form, queued, or taking a place back."""

from __future__ import annotations

import asyncio

from peer.core.desk.link import (
    NOT_LINES,
    Action,
    ClientSettings,
    DeskPhase,
    FindPlace,
    KeepPlace,
    SendToDesk,
    Show,
)
from peer.core.desk.person import PersonCore
from tests.desk.listed import Listed
from wire.base import IdMaker
from wire.desk.messages import EST_TYPICAL, DeskQueued, WaitEstimate

PHONE = "07700900606"


class Screen:
    """A runner's terminal in a test: lines shown are kept, and a line put back where it is
    typed; input is put on the runner's `events` by the test."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.typed = ""
        self.shown = asyncio.Event()

    def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def show(self, line: str, style: str = "system") -> None:
        if style == "typed":
            self.typed = line
        elif style not in NOT_LINES:
            self.lines.append(line)
            self.shown.set()

    async def until(self, text: str, times: int = 1) -> None:
        """Wait until `times` lines shown hold `text`."""
        while sum(text in line for line in self.lines) < times:
            self.shown.clear()
            await self.shown.wait()


def shown(actions: list[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Show) and a.style not in NOT_LINES]


def sent(actions: list[Action]) -> list[object]:
    return [a.message for a in actions if isinstance(a, SendToDesk)]


def person() -> PersonCore:
    return Listed(
        PersonCore(
            ("127.0.0.1", 4000), IdMaker("p"), ClientSettings(retry=(0.5, 4.0), leave_timeout=2.0)
        )
    )


def through_form(core: PersonCore, topic: str = "5", kept: KeepPlace | None = None) -> None:
    core.start(0.0)
    core.typed("Maria", 0.0)
    assert core.typed("07700 900606", 0.0) == [FindPlace(PHONE)]
    core.place_found(kept, 0.0)
    if kept is None:
        core.typed(topic, 0.0)


def queued(position: int = 2, *, restored: bool = False, grace: int = 120) -> DeskQueued:
    return DeskQueued(
        "d1", "p-1", "tok", 5, position, 1, grace, restored, WaitEstimate(EST_TYPICAL, 0, 0)
    )


def waiting(now: float = 0.0) -> PersonCore:
    core = person()
    through_form(core)
    core.connected(now)
    core.received(queued(), now)
    assert core.link.phase is DeskPhase.WAITING
    return core


def alerts(actions: list[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Show) and a.style == "alert"]


def taking_back(now: float) -> PersonCore:
    """Tom Baker's client, whose held-place file keeps a place for topic 5, is given his
    name and number; the place is found at `now`, so the topic is not asked."""
    core = person()
    core.start(0.0)
    core.typed("Tom Baker", 0.5)
    core.typed("07700 900606", now)
    out = core.place_found(KeepPlace("old-token", 5, "", 120.0), now)
    assert shown(out) == [
        "[You had a place in the waiting room a moment ago (5 Financial Suggestions); taking it "
        "back, with its topic, so the topic is not asked again.]"
    ]
    return core


def alerts_of(notice: str) -> list[str]:
    return [f"!!! {line}" for line in notice.splitlines() if line.strip()]
