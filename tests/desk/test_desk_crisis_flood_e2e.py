"""The crisis places cannot be filled by one party, end to end with real processes: a
script joins from ten addresses, each join under a key of its own, ordinary and crisis
joins alike, paying the work a busy desk asks for every place of the ordinary room but
none beyond it; then a person in danger joins with the real client, which does the work asked. The
desk asks WORK_LESS bits fewer than a real one, at every step of its rule: 200 joins and
their work then take a second, not minutes on a loaded machine."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_procs import DeskWorld, place, raw_join

from registry.core.desk.limits import MAX_WAITING, work_bits

#: The script's addresses: ten machines of the LAN.
SOURCES = [f"127.0.0.{n}" for n in range(2, 12)]
#: Bits fewer the test's desk asks of each join than a desk does.
WORK_LESS = 10
#: The most bits the script pays: what the last place of the ordinary room asks (18 bits at
#: a real desk), but not a place beyond it.
PAYS_UP_TO = work_bits(MAX_WAITING - 1) - WORK_LESS
#: Seconds each answer of the desk is awaited (awaited, not timed: the test is of places).
ANSWERED_WITHIN = 30.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DeskWorld]:
    """A desk asking WORK_LESS bits fewer of each join."""
    desk = DeskWorld(tmp_path, "--work-bits-less", str(WORK_LESS))
    try:
        yield desk
    finally:
        desk.close()


async def flood(port: int) -> list[str]:
    """Ten ordinary joins and ten crisis joins from each address: what each was answered
    (the connections stay open, so that the places stay taken)."""
    answers, writers = [], []
    for kind, topic in (("plain", 2), ("crisis", 1)):
        for n, source in enumerate(SOURCES):
            for k in range(10):
                index = 100 * n + 10 * (topic == 1) + k
                answer, writer = await raw_join(
                    port, f"{kind}{index}", f"+44 7700 9{index:05d}", topic,
                    source=source, pays_up_to=PAYS_UP_TO, wait=ANSWERED_WITHIN,
                )  # fmt: skip
                answers.append(answer)
                writers.append(writer)
    return answers


def test_ten_addresses_cannot_fill_the_crisis_places(world: DeskWorld) -> None:
    loop = asyncio.new_event_loop()
    try:
        answers = loop.run_until_complete(flood(world.port))
        queued = answers.count("queued")
        assert queued < 100, "the script filled every place"
        assert any(a.startswith("work ") for a in answers)  # what it would not pay
        vera = world.person("Vera", "+44 7700 955555", 1)
        vera.expect(r"!!! If you are in danger")
        vera.expect(place(queued + 1), timeout=2 * ANSWERED_WITHIN)
        assert not any("full" in line for line in vera.everything)
    finally:
        loop.close()
