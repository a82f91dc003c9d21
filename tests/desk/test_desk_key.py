"""The operator key file: made once, private, kept across restarts, replaceable by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.desk_key import key_matches, key_path, load_or_create_key, read_key


def test_a_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "registry"
    key = load_or_create_key(data)
    assert len(key) >= 20
    assert key_path(data).stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(data) == key  # a restart keeps it
    assert read_key(key_path(data)) == key


def test_a_key_chosen_by_hand_is_used(tmp_path: Path) -> None:
    key_path(tmp_path).write_text("  our-desk-2026  \nignored\n")
    assert load_or_create_key(tmp_path) == "our-desk-2026"


def test_an_empty_key_file_is_an_error_not_an_open_desk(tmp_path: Path) -> None:
    key_path(tmp_path).write_text("\n")
    with pytest.raises(ValueError, match="holds no key"):
        load_or_create_key(tmp_path)
    assert read_key(key_path(tmp_path)) is None
    assert read_key(tmp_path / "missing") is None


def test_key_matches_only_the_same_key() -> None:
    assert key_matches("abc", "abc")
    assert not key_matches("abd", "abc")
    assert not key_matches("", "abc")
    assert not key_matches("ü", "abc")  # any text, no exception
