"""The crisis places cannot be filled by one party, end to end with real processes: a
script joins from ten addresses, each join under a key of its own, ordinary and crisis
joins alike, paying the work a busy desk asks up to 18 bits (a quarter of a second each
here); then a person in danger joins with the real client, which does the work asked."""

from __future__ import annotations

import asyncio

import pytest
from desk_procs import DeskWorld, place, raw_join

#: The script's addresses: ten machines of the LAN.
SOURCES = [f"127.0.0.{n}" for n in range(2, 12)]
#: Seconds each answer of the desk is awaited: 200 joins, with the work they pay, keep a
#: loaded machine's desk seconds behind (awaited, not timed: the test is of places).
ANSWERED_WITHIN = 30.0


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
                    source=source, pays_up_to=18, wait=ANSWERED_WITHIN,
                )  # fmt: skip
                answers.append(answer)
                writers.append(writer)
    return answers


@pytest.mark.timeout(240)  # 200 joins and their work: minutes on a loaded machine
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
