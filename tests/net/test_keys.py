"""A program's key pair and its pinned keys, kept in its data folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from secure.keys import KEY_FILE, KeyFileError, Pins, load_or_make_key
from secure.noise import public_bytes
from wire.keys import fingerprint, key_from_text, key_text


def test_a_key_is_made_once_readable_by_its_owner_only_and_kept(tmp_path: Path) -> None:
    key, made = load_or_make_key(tmp_path)
    assert made
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    again, made = load_or_make_key(tmp_path)
    assert not made and public_bytes(again) == public_bytes(key)
    assert not list(tmp_path.glob("*.tmp"))


def test_a_key_file_that_holds_no_key_is_said_and_left_as_it_is(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("not a key")
    with pytest.raises(KeyFileError, match="holds no key"):
        load_or_make_key(tmp_path)
    assert (tmp_path / KEY_FILE).read_text() == "not a key"


def test_two_programs_pinning_in_one_folder_keep_both_pins(tmp_path: Path) -> None:
    first, second = Pins(tmp_path), Pins(tmp_path)
    first.pin("registry a", bytes(range(32)))
    second.pin("peer bob at registry a", bytes(range(1, 33)))
    assert Pins(tmp_path).get("registry a") == bytes(range(32))
    assert Pins(tmp_path).get("peer bob at registry a") == bytes(range(1, 33))
    assert stat.S_IMODE(Pins(tmp_path).path.stat().st_mode) == 0o600


@pytest.mark.parametrize("damage", [b"{broken", b"\x87\x00", b""])
def test_a_damaged_pins_file_is_said_in_the_words_of_every_file_and_read_as_empty(
    tmp_path: Path, damage: bytes
) -> None:
    (tmp_path / "known-keys.json").write_bytes(damage)
    pins = Pins(tmp_path)
    assert pins.get("registry a") is None
    # as the peer's other files say it: not a parser's message (line, column, codec)
    assert pins.problem == (
        f"Could not read the pinned keys in {tmp_path / 'known-keys.json'} (it is not what "
        "ChatApp writes there); starting afresh."
    )


def test_a_pins_file_that_cannot_be_read_now_says_why_once(tmp_path: Path) -> None:
    (tmp_path / "known-keys.json").mkdir()
    assert Pins(tmp_path).problem.endswith(" (Is a directory); starting afresh.")


def test_a_key_reads_as_text_and_as_digits_to_read_aloud() -> None:
    public = bytes(range(32))
    assert key_from_text(key_text(public)) == public
    assert key_from_text("not a key") is None and key_from_text("A" * 43 + "=") is None
    groups = fingerprint(public).split()
    assert len(groups) == 6 and all(len(g) == 5 and g.isdigit() for g in groups)
    assert fingerprint(public) != fingerprint(bytes(range(1, 33)))


def test_a_key_file_that_cannot_be_read_now_is_an_os_error_not_a_damaged_one(
    tmp_path: Path,
) -> None:
    (tmp_path / KEY_FILE).mkdir()  # (any file that cannot be read: EISDIR, EMFILE, EIO)
    with pytest.raises(OSError, match="Is a directory"):
        load_or_make_key(tmp_path)
