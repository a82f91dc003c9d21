"""Name colours: enough of them, none near the error's red, names online kept apart."""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Iterable

from hypothesis import given
from hypothesis import strategies as st
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from peer.adapter.terminal import NAME_COLOURS, Sources, TerminalConsole, hashed_colour

NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


def colours(online: Callable[[], Iterable[str]]) -> Callable[[str], str]:
    """The colour a peer's console gives each name, `online()` the names online."""
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        console = TerminalConsole(colour=True, bell=False)
    console.bind(Sources(me=lambda: "me", names=lambda: list(online())))
    return console.colour_of


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def test_at_least_twelve_colours_all_different() -> None:
    assert len(NAME_COLOURS) >= 12
    assert len(set(NAME_COLOURS)) == len(NAME_COLOURS)


def test_no_colour_is_near_the_red_of_errors_nor_grey() -> None:
    for colour in NAME_COLOURS:
        hue, saturation, value = colorsys.rgb_to_hsv(*_rgb(colour))
        degrees = hue * 360
        assert min(degrees, 360 - degrees) >= 35, colour  # red is at 0 degrees
        assert saturation >= 0.3 and value >= 0.6, colour  # not grey, not dark


def test_colours_are_far_enough_apart_to_tell() -> None:
    for i, a in enumerate(NAME_COLOURS):
        for b in NAME_COLOURS[i + 1 :]:
            distance = sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b), strict=True)) ** 0.5
            assert distance >= 0.2, (a, b)


def test_two_names_whose_hash_collides_get_different_colours() -> None:
    names = [f"user{i}" for i in range(200)]
    first = names[0]
    twin = next(n for n in names[1:] if hashed_colour(n) == hashed_colour(first))
    colour_of = colours(lambda: [first, twin])
    assert colour_of(first) != colour_of(twin)
    assert colour_of(first) == NAME_COLOURS[hashed_colour(first)]  # the first keeps its own


def test_a_name_keeps_its_colour_ignoring_case() -> None:
    colour_of = colours(lambda: ["alice", "bob"])
    first = colour_of("alice")
    colour_of("bob")
    assert colour_of("ALICE") == colour_of("alice") == first


@given(st.lists(NAME, min_size=1, max_size=len(NAME_COLOURS), unique_by=str.casefold))
def test_names_online_at_once_never_share_a_colour(names: list[str]) -> None:
    colour_of = colours(lambda: names)
    shown = [colour_of(n) for n in names]
    assert len(set(shown)) == len(names)
    assert [colour_of(n) for n in names] == shown  # stable


def test_a_name_that_went_offline_and_came_back_keeps_apart_from_newcomers() -> None:
    online = ["bob"]
    colour_of = colours(lambda: online)
    bob = colour_of("bob")
    online.clear()
    others = [f"n{i}" for i in range(len(NAME_COLOURS) - 1)]
    online.extend(others)
    taken = {colour_of(n) for n in others}
    online.append("bob")
    assert colour_of("bob") == bob and bob not in taken


def test_each_name_has_a_stable_colour_of_its_own() -> None:
    def colour(name: str) -> str:
        return colours(tuple)(name)  # a run's first name takes the colour its hash says

    assert colour("alice") == colour("ALICE") == colour("alice")
    assert colour("alice") in NAME_COLOURS
    assert len({colour(n) for n in ("alice", "bob", "carol", "dave", "erin", "x")}) > 1
