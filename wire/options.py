"""The check of keyword options given as `**options: Unpack[SomeTypedDict]`, which nothing
checks at run time."""

from __future__ import annotations

from collections.abc import Mapping


def check_options(owner: str, options: Mapping[str, object], spec: type) -> None:
    """Raise TypeError naming `owner`, as a misspelt keyword argument would, if `options`
    hold a key TypedDict `spec` lacks, or lack one of its required keys."""
    required: frozenset[str] = getattr(spec, "__required_keys__", frozenset())
    optional: frozenset[str] = getattr(spec, "__optional_keys__", frozenset())
    unknown = sorted(options.keys() - required - optional)
    missing = sorted(required - options.keys())
    if unknown or missing:
        raise TypeError(f"{owner}: unknown options {unknown}, missing {missing}")
