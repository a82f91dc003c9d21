"""Name colours: enough of them, none near the error's red, names online kept apart."""

from __future__ import annotations

import colorsys

from hypothesis import given
from hypothesis import strategies as st

from peer.adapter.terminal import NAME_COLOURS, NameColours, hashed_colour

NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


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
    colours = NameColours(lambda: [first, twin])
    assert colours.of(first) != colours.of(twin)
    assert colours.of(first) == NAME_COLOURS[hashed_colour(first)]  # the first keeps its own


def test_a_name_keeps_its_colour_ignoring_case() -> None:
    colours = NameColours(lambda: ["alice", "bob"])
    first = colours.of("alice")
    colours.of("bob")
    assert colours.of("ALICE") == colours.of("alice") == first


@given(st.lists(NAME, min_size=1, max_size=len(NAME_COLOURS), unique_by=str.casefold))
def test_names_online_at_once_never_share_a_colour(names: list[str]) -> None:
    colours = NameColours(lambda: names)
    shown = [colours.of(n) for n in names]
    assert len(set(shown)) == len(names)
    assert [colours.of(n) for n in names] == shown  # stable


def test_a_name_that_went_offline_and_came_back_keeps_apart_from_newcomers() -> None:
    online = ["bob"]
    colours = NameColours(lambda: online)
    bob = colours.of("bob")
    online.clear()
    others = [f"n{i}" for i in range(len(NAME_COLOURS) - 1)]
    online.extend(others)
    taken = {colours.of(n) for n in others}
    online.append("bob")
    assert colours.of("bob") == bob and bob not in taken
