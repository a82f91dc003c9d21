"""bench.common.idle_wait: what a bench's note says of how idle CPUs wait."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import idle_wait

pytestmark = pytest.mark.timeout(10)


def _files(tmp_path: Path, driver: str | None, ns: str | None) -> tuple[Path, Path]:
    cpuidle, polling = tmp_path / "current_driver", tmp_path / "guest_halt_poll_ns"
    if driver is not None:
        cpuidle.write_text(driver + "\n")
    if ns is not None:
        polling.write_text(ns + "\n")
    return cpuidle, polling


@pytest.mark.parametrize(
    ("driver", "ns", "said"),
    [
        ("haltpoll", "0", "idle CPUs: haltpoll, halting at once"),
        ("haltpoll", "200000", "idle CPUs: haltpoll, polling up to 200 µs"),
        ("haltpoll", None, "idle CPUs: haltpoll"),
        ("haltpoll", "many", "idle CPUs: haltpoll"),
        ("intel_idle", None, "idle CPUs: intel_idle"),
        (None, None, "idle CPUs: not known"),
    ],
)
def test_the_note_says_how_idle_cpus_wait(
    tmp_path: Path, driver: str | None, ns: str | None, said: str
) -> None:
    assert idle_wait(*_files(tmp_path, driver, ns)) == said
