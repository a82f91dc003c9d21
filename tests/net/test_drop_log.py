"""Rejections: one line per kind of rejection per interval, and every rejection counted."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from net.drop_log import MAX_KINDS, OTHER_KIND, Rejections


def test_the_first_of_a_kind_is_logged_at_once_and_the_rest_as_one_count() -> None:
    lines: list[str] = []
    drops = Rejections(lines.append, interval=10)
    drops.drop("bad frame", "closed TCP connection from a (#1)", 100.0)
    assert lines == ["closed TCP connection from a (#1)"] and drops.due() is None
    for n in range(2, 1001):
        drops.drop("bad frame", f"closed TCP connection from a (#{n})", 100.0 + n / 1000)
    assert len(lines) == 1 and drops.due() == 110.0
    drops.flush(109.9)
    assert len(lines) == 1
    drops.flush(110.0)
    assert lines[1] == (
        "closed TCP connection from a (#1000) [and 998 more like it since the last such line]"
    )
    assert drops.due() is None and drops.counts == {"bad frame": 1000}


def test_kinds_are_counted_apart_and_a_quiet_kind_is_logged_at_once_again() -> None:
    lines: list[str] = []
    drops = Rejections(lines.append, interval=10)
    drops.drop("a", "a-1", 0.0)
    drops.drop("b", "b-1", 1.0)  # another kind: not held back by the first
    drops.drop("a", "a-2", 2.0)
    assert lines == ["a-1", "b-1"]
    drops.drop("a", "a-3", 12.0)  # the interval is over: the count goes with this one
    assert lines[-1] == "a-3 [and 1 more like it since the last such line]"
    drops.drop("b", "b-2", 30.0)  # nothing held, quiet for long: at once, alone
    assert lines[-1] == "b-2"


@given(
    st.lists(
        st.tuples(st.sampled_from(["x", "y", "z"]), st.floats(0, 5, allow_nan=False)),
        max_size=300,
    )
)
def test_any_burst_makes_few_lines_and_tells_every_rejection(
    steps: list[tuple[str, float]],
) -> None:
    lines: list[str] = []
    drops = Rejections(lines.append, interval=10)
    now = 0.0
    for kind, step in steps:
        now += step
        drops.drop(kind, kind, now)
    drops.flush(now + 11)
    for kind in "xyz":
        mine = [line for line in lines if line.startswith(kind)]
        told = sum(
            1 + int(m.group(1)) if (m := re.search(r"\[and (\d+) more", line)) else 1
            for line in mine
        )
        assert told == drops.counts.get(kind, 0)
        # at most one line when the kind begins, then one per interval, and one to end
        assert len(mine) <= 2 + (now + 11) // 10


def test_kinds_beyond_the_bound_are_counted_as_one() -> None:
    lines: list[str] = []
    drops = Rejections(lines.append, interval=10)
    for n in range(MAX_KINDS + 500):  # a kind made of network text by mistake
        drops.drop(f"kind {n}", f"line {n}", 1.0)
    assert len(drops.counts) == MAX_KINDS + 1
    assert drops.counts[OTHER_KIND] == 500 and drops.counts.total() == MAX_KINDS + 500
    assert len(lines) == MAX_KINDS + 1  # the first of "other" told, the rest held


@pytest.mark.timeout(10)
def test_the_process_log_tells_the_count_of_a_burst_once_its_interval_is_over() -> None:
    lines: list[str] = []

    async def burst() -> None:
        rejections = Rejections(lines.append, interval=0.05)
        for n in range(100):
            rejections("wrong key", f"refused #{n}")
        assert lines == ["refused #0"]

        async def told() -> None:  # by the timer of the running loop
            while len(lines) < 2:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(told(), 5)
        assert lines == ["refused #0", "refused #99 [and 98 more like it since the last such line]"]
        rejections("wrong key", "refused #100")
        rejections.close()  # what is held is told at the end

    asyncio.run(burst())
    assert lines[-1] == "refused #100"
