"""The check of keyword options: a misspelt or missing option is named, the rest pass."""

from __future__ import annotations

from typing import TypedDict

import pytest

from registry.core.dispatch import check_options


class _Needed(TypedDict):
    # required keys by a total base: `Required[...]` is not seen under postponed annotations
    name: str


class _Options(_Needed, total=False):
    grace: float


def test_known_options_pass_and_optional_ones_may_be_left_out() -> None:
    check_options("Thing", {"name": "x"}, _Options)
    check_options("Thing", {"name": "x", "grace": 1.0}, _Options)


def test_a_misspelt_option_is_named_and_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"Thing: unknown options \['gracee'\], missing \[\]"):
        check_options("Thing", {"name": "x", "gracee": 1.0}, _Options)


def test_a_missing_required_option_is_named() -> None:
    with pytest.raises(TypeError, match=r"missing \['name'\]"):
        check_options("Thing", {}, _Options)
