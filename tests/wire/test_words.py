"""wire.words: counts said in words that agree."""

from __future__ import annotations

import pytest

from wire.words import counted


@pytest.mark.parametrize(
    ("count", "said"), [(0, "0 rooms"), (1, "1 room"), (2, "2 rooms"), (-1, "-1 rooms")]
)
def test_the_noun_agrees_with_the_count(count: int, said: str) -> None:
    assert counted(count, "room") == said
