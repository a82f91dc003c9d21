"""The operator key file: made once, private, kept across restarts, replaceable by hand."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from disk.operator_key import key_path, load_or_create_key, read_key
from registry.adapter.desk.files import OPERATORS_FILE, PLACES_FILE
from registry.adapter.desk.service import DeskService
from registry.core.credentials import same_secret


def test_a_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "registry"
    key, problem = load_or_create_key(data)
    assert len(key) >= 20 and problem == ""
    assert key_path(data).stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(data) == (key, "")  # a restart keeps it
    assert read_key(key_path(data)) == key


def test_a_key_chosen_by_hand_is_used(tmp_path: Path) -> None:
    key_path(tmp_path).write_text("  our-desk-2026  \nignored\n")
    assert load_or_create_key(tmp_path) == ("our-desk-2026", "")


def test_an_empty_key_file_is_an_error_not_an_open_desk(tmp_path: Path) -> None:
    key_path(tmp_path).write_text("\n")
    key, problem = load_or_create_key(tmp_path)
    assert key == "" and "desk-key is empty, so the help desk is closed" in problem
    assert read_key(key_path(tmp_path)) is None
    assert read_key(tmp_path / "missing") is None


def test_key_matches_only_the_same_key() -> None:
    assert same_secret("abc", "abc")
    assert not same_secret("abd", "abc")
    assert not same_secret("", "abc")
    assert not same_secret("ü", "abc")  # any text, no exception


def test_a_new_key_is_whole_in_place_and_leaves_nothing_else(tmp_path: Path) -> None:
    key, _ = load_or_create_key(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["desk-key"]
    assert key_path(tmp_path).read_text() == key + "\n"


def test_a_key_another_start_made_meanwhile_is_the_one_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_link = os.link

    def theirs_first(src: str, dst: str) -> None:
        key_path(tmp_path).write_text("theirs\n")  # the other start links first
        real_link(src, dst)

    monkeypatch.setattr(os, "link", theirs_first)
    assert load_or_create_key(tmp_path) == ("theirs", "")
    assert [p.name for p in tmp_path.iterdir()] == ["desk-key"]


def test_a_binary_key_file_is_an_error_that_says_so(tmp_path: Path) -> None:
    key_path(tmp_path).write_bytes(b"\x00\x13\x07\x1b")  # decodes as text, holds no key
    assert "holds control characters, not a key" in load_or_create_key(tmp_path)[1]
    key_path(tmp_path).write_bytes(b"\xff\xfe\x81")
    assert "is not text (a binary file?)" in load_or_create_key(tmp_path)[1]
    assert read_key(key_path(tmp_path)) is None  # an operator's client asks for the key


def test_a_closed_desk_says_why_and_leaves_the_files_of_the_run_before(tmp_path: Path) -> None:
    """A desk whose key file holds no key is closed: each console command says why, and
    nothing it starts or stops touches the places or operators kept by the run before."""
    key_path(tmp_path).write_bytes(b"")
    kept = {name: f"{name}: as the run before left it\n" for name in (PLACES_FILE, OPERATORS_FILE)}
    for name, text in kept.items():
        (tmp_path / name).write_text(text)
    logs: list[str] = []
    desk = DeskService(tmp_path, logs.append)
    assert "desk-key is empty, so the help desk is closed" in desk.problem
    assert desk.operators() == [f"  operators: {desk.problem}"]
    assert desk.waiting_room() == [f"  desk: {desk.problem}"]
    assert desk.revoke("ann") == f"  revoke: {desk.problem}"

    async def run() -> None:
        await desk.start()
        await desk.close()

    asyncio.run(run())
    assert {name: (tmp_path / name).read_text() for name in kept} == kept
    assert key_path(tmp_path).read_bytes() == b"" and not logs
