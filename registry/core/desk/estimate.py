"""The help desk's wait estimate, smoothed as TCP smooths round trips (RFC 6298). An
operator in a session of `e` seconds is free in its topic's average minus `e`, never less
than OVERRUN * e; nobody further back is shown a shorter wait."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

from msgspec import Meta, Struct
from msgspec.structs import replace

from registry.core.desk.limits import TYPICAL_SESSION
from wire.desk.messages import EST_MEASURED, EST_NOBODY, EST_TYPICAL, WaitEstimate

#: Weight of the newest session length in the moving average: a quarter, so that the
#: last few sessions say most and one odd session does not swing the estimate.
ALPHA = 0.25
#: Sessions ended before their measured average is trusted (the typical length below this).
MIN_HISTORY = 3
#: What is left of a session that has lasted `e`, at least: OVERRUN * e, as for lengths
#: with a long tail (a Pareto law of shape 3, a fair model of talks and calls).
OVERRUN = 0.5


class Average(Struct, forbid_unknown_fields=True):
    """An exponentially weighted mean and mean deviation of session lengths, in seconds."""

    count: Annotated[int, Meta(ge=0)] = 0
    mean: Annotated[float, Meta(ge=0)] = 0.0
    dev: Annotated[float, Meta(ge=0)] = 0.0

    def add(self, sample: float) -> None:
        """Fold in one session length (the first seeds the mean, half of it the deviation)."""
        sample = max(0.0, sample)
        if self.count == 0:
            self.mean = sample
            self.dev = sample / 2
        else:
            self.dev = (1 - ALPHA) * self.dev + ALPHA * abs(sample - self.mean)
            self.mean = (1 - ALPHA) * self.mean + ALPHA * sample
        self.count += 1


def whole(kind: str, low: float = 0.0, high: float = 0.0) -> WaitEstimate:
    low_whole = max(0, int(low))
    return WaitEstimate(kind, low_whole, max(low_whole, int(-(-high // 1))))


#: What an operator able to serve the person is doing: None when idle, else the topic of
#: its session and how many seconds that session has lasted.
Busy = tuple[int, float] | None


class Estimator:
    def __init__(self, typical: float = TYPICAL_SESSION) -> None:
        """`typical`: the session length taken until MIN_HISTORY sessions ended."""
        if not 0 < typical < math.inf:
            raise ValueError("typical must be a finite number of seconds above 0")
        self.typical = Average(0, typical, typical / 2)
        self.overall = Average()
        self.by_topic: dict[int, Average] = {}

    def record(self, topic: int, seconds: float) -> None:
        self.by_topic.setdefault(topic, Average()).add(seconds)
        self.overall.add(seconds)

    @property
    def measured(self) -> bool:
        return self.overall.count >= MIN_HISTORY

    def average(self, topic: int) -> Average:
        own = self.by_topic.get(topic)
        if own is not None and own.count >= MIN_HISTORY:
            return own
        return self.overall if self.measured else self.typical

    def estimate(self, topic: int, ahead: int, operators: Sequence[Busy]) -> WaitEstimate:
        """The wait with `ahead` people before, one Busy per operator able to serve `topic`."""
        k = len(operators)
        if k == 0:
            return whole(EST_NOBODY)
        average = self.average(topic)
        remaining = min(self._remaining(busy) for busy in operators)
        share = max(0, ahead) / k
        point = remaining + share * average.mean
        # each person ahead adds no more doubt than their session's length: a deviation
        # wider than the mean must not pull the low end below that of someone ahead
        spread = average.dev + share * min(average.dev, average.mean)
        kind = EST_MEASURED if self.measured else EST_TYPICAL
        return whole(kind, point - spread, point + spread)

    def _remaining(self, busy: Busy) -> float:
        if busy is None:
            return 0.0
        session_topic, elapsed = busy
        elapsed = max(0.0, elapsed)
        return max(self.average(session_topic).mean - elapsed, OVERRUN * elapsed)

    def history(self) -> tuple[Average, dict[int, Average]]:
        return replace(self.overall), {t: replace(a) for t, a in sorted(self.by_topic.items())}

    def restore_history(self, overall: Average, by_topic: dict[int, Average]) -> None:
        self.overall = replace(overall)
        self.by_topic = {t: replace(a) for t, a in by_topic.items()}
