"""Nobody can lock the help desk, end to end with real processes on loopback: a script's
joins from one computer leave room for a person in danger, and a held place goes back only
to the client that was given it, however the number and the address match."""

from __future__ import annotations

import asyncio

import pytest
from desk_procs import DeskWorld, kept, place, raw_join

from wire.desk.render import WELCOME_BACK


async def fifty_fake_joins(port: int) -> list[str]:
    """Fifty joins from 127.0.0.1, each under a key of its own, as a script makes them."""
    answers, writers = [], []
    for index in range(50):
        answer, writer = await raw_join(port, f"Fake{index}", f"+44 7700 9{index:05d}", 2)
        answers.append(answer)
        writers.append(writer)
    return answers


@pytest.mark.timeout(90)
def test_fifty_fake_joins_from_one_computer_leave_room_for_a_person_in_danger(
    world: DeskWorld,
) -> None:
    loop = asyncio.new_event_loop()
    try:
        answers = loop.run_until_complete(fifty_fake_joins(world.port))
        assert answers.count("queued") == 10  # MAX_PER_ADDRESS: loopback is no exception
        assert all("This computer (127.0.0.1) already holds 10 places" in a for a in answers[10:])
        # from the same computer, as someone sharing it would be: topic 1 gets in
        vera = world.person("Vera", "+44 7700 955555", 1)
        vera.expect(r"!!! If you are in danger")
        vera.expect(place(11))
        assert not any("full" in line for line in vera.everything)
    finally:
        loop.close()


@pytest.mark.timeout(90)
def test_an_impostor_at_the_same_address_cannot_take_a_held_place_but_its_client_can(
    world: DeskWorld,
) -> None:
    alice = world.person("Alice", "+44 7700 900123", 5)
    alice.expect(place(1))
    bob = world.person("Bob", "0151-2345-6789", 5)
    bob.expect(place(2))
    alice.kill()  # her client stops; her place is held for its token
    # the same computer, another client (another user, a script): it knows her number only
    mallory = world.person("Mallory", "+44 7700 900123", 5)
    mallory.expect(place(3))
    assert not any(WELCOME_BACK in line or "kept" in line for line in mallory.everything)
    # her own client, started again, has the token in its place file
    again = world.person("Alice", "+44 7700 900123", None)
    again.expect(r"You had a place in the waiting room a moment ago")
    again.expect(kept(1))
