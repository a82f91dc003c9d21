"""The held-place file of `ChatApp -d`: what a restarted client reads back, and when not."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import stat
import time
from pathlib import Path

import pytest

from disk.files import InUse
from peer.adapter.desk.held_place import CLOCK_SKEW, HeldPlace, place_name
from peer.adapter.desk.start import (
    PERSON_LOCK,
    hold_client_lock,
    operator_lock,
    run_desk_client,
    take_earlier_key,
)
from peer.core.desk.actions import KeepPlace
from wire.desk.phone import phone_key


def test_a_saved_place_is_read_back_and_private(tmp_path: Path) -> None:
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    place.keep(KeepPlace("tok", 3, "Maths", 120.0))
    assert place.load() == KeepPlace("tok", 3, "Maths", 120.0)
    assert stat.S_IMODE(place.path.stat().st_mode) == 0o600
    assert "07700900606" not in str(place.path)  # the name does not show the number


def test_each_desk_and_number_has_its_own_place(tmp_path: Path) -> None:
    HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606").keep(KeepPlace("tok", 3, "", 120.0))
    assert HeldPlace(tmp_path, "127.0.0.1", 4001, "07700900606").load() is None
    assert HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900607").load() is None


def test_a_number_written_another_way_finds_its_place(tmp_path: Path) -> None:
    HeldPlace(tmp_path, "127.0.0.1", 4000, "+447700900606").keep(KeepPlace("tok", 3, "", 120.0))
    kept = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606").load()
    assert kept is not None and kept.token == "tok"


def test_a_place_past_its_grace_period_is_gone(tmp_path: Path) -> None:
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    place.path.parent.mkdir(parents=True, exist_ok=True)
    old = {"token": "tok", "topic": 3, "description": "", "grace": 120, "alive": time.time() - 121}
    place.path.write_text(json.dumps(old))
    assert place.load() is None
    assert not place.path.exists()


def test_a_last_alive_time_far_in_the_future_is_damage(tmp_path: Path) -> None:
    # found by trying it: a file "alive" next year never went stale, and its place was
    # asked back at every start, long after the desk had given it up
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    place.path.parent.mkdir(parents=True, exist_ok=True)
    ahead = {"token": "tok", "topic": 3, "description": "", "grace": 120}
    place.path.write_text(json.dumps(ahead | {"alive": time.time() + 365 * 86400}))
    assert place.load() is None
    assert not place.path.exists()
    # a clock set back a little since the file was written is no damage
    place.path.write_text(json.dumps(ahead | {"alive": time.time() + CLOCK_SKEW / 2}))
    assert place.load() == KeepPlace("tok", 3, "", 120.0)


def test_a_damaged_file_is_no_place_and_is_removed(tmp_path: Path) -> None:
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    place.path.parent.mkdir(parents=True, exist_ok=True)
    for damage in ("{not json", "[1, 2]", json.dumps({"token": 7, "topic": 3})):
        place.path.write_text(damage)
        assert place.load() is None
        assert not place.path.exists()


def test_cleared_is_gone_and_a_missing_file_is_no_place(tmp_path: Path) -> None:
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    assert place.load() is None
    place.keep(KeepPlace("tok", 3, "", 120.0))
    place.clear()
    assert place.load() is None
    place.clear()  # twice is fine


def test_a_place_that_cannot_be_written_costs_only_the_restart(tmp_path: Path) -> None:
    (tmp_path / "desk").write_text("a file where the directory should be")
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    place.keep(KeepPlace("tok", 3, "", 120.0))  # no exception: the wait goes on without it
    assert place.load() is None


def test_a_time_that_is_no_number_or_a_topic_that_is_none_is_no_place(tmp_path: Path) -> None:
    # Python's json reads NaN and Infinity: a place alive at NaN was never stale, and a
    # grace of NaN stopped the client when its connection broke
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    place.path.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    good = f'"token": "tok", "description": "", "alive": {now}'
    for damage in (
        "{" + good + ', "topic": 3, "grace": NaN}',
        "{" + good + ', "topic": 3, "grace": Infinity}',
        "{" + good + ', "topic": 3, "grace": -1}',
        '{"token": "tok", "topic": 3, "grace": 120, "alive": NaN}',
        '{"token": "tok", "topic": 3, "grace": 120, "alive": 1e999}',
        "{" + good + ', "topic": 99, "grace": 120}',
        "{" + good + ', "topic": true, "grace": 120}',
        "[" * 100_000,
    ):
        place.path.write_text(damage)
        assert place.load() is None
        assert not place.path.exists()


def test_one_client_per_directory_and_one_operator_per_name(tmp_path: Path) -> None:
    person = hold_client_lock(tmp_path, PERSON_LOCK)
    assert person is not None
    with pytest.raises(InUse) as busy:
        hold_client_lock(tmp_path, PERSON_LOCK)
    assert busy.value.by == f" (pid {os.getpid()})"
    ann = hold_client_lock(tmp_path, operator_lock("ann"))
    assert ann is not None
    with pytest.raises(InUse):
        hold_client_lock(tmp_path, operator_lock("ANN"))  # one name, whatever the case
    bo = hold_client_lock(tmp_path, operator_lock("bo"))
    assert bo is not None
    for fd in (person, ann, bo):
        os.close(fd)
    again = hold_client_lock(tmp_path, PERSON_LOCK)  # let go with its holder
    assert again is not None
    os.close(again)
    (tmp_path / "plain").write_text("a file where the directory should be")
    assert hold_client_lock(tmp_path / "plain", PERSON_LOCK) is None  # runs without it


def test_the_place_file_name_is_a_keyed_hash_that_trying_numbers_cannot_undo(
    tmp_path: Path,
) -> None:
    phone = "07700900606"
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, phone)
    place.keep(KeepPlace("tok", 3, "", 120.0))
    secret_file = tmp_path / "desk" / "place-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = bytes.fromhex(secret_file.read_text())
    label = f"127.0.0.1:4000|{phone_key(phone)}"
    assert place.path.name == place_name(secret, label) + ".json"
    # what undid the old names: hashing every number until one matches finds nothing now
    tried = {
        hashlib.sha256(f"127.0.0.1:4000|{n}".encode()).hexdigest()[:32]
        for n in (phone_key(phone), phone, "+447700900606")
    }
    assert not any(name in place.path.name for name in tried)
    # another installation names the same number otherwise
    other = HeldPlace(tmp_path / "other", "127.0.0.1", 4000, phone)
    assert other.path.name != place.path.name
    # and a restarted client finds its file again
    assert HeldPlace(tmp_path, "127.0.0.1", 4000, phone).load() == KeepPlace("tok", 3, "", 120.0)


def test_a_damaged_secret_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "desk").mkdir()
    (tmp_path / "desk" / "place-secret").write_text("not a secret\n")
    place = HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606")
    place.keep(KeepPlace("tok", 3, "", 120.0))
    assert len(bytes.fromhex((tmp_path / "desk" / "place-secret").read_text())) == 32
    assert HeldPlace(tmp_path, "127.0.0.1", 4000, "07700900606").load() is not None


def test_a_secret_that_cannot_be_read_now_is_kept_for_a_later_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = "07700900606"
    HeldPlace(tmp_path, "127.0.0.1", 4000, phone).keep(KeepPlace("tok", 3, "", 120.0))
    secret_file = tmp_path / "desk" / "place-secret"
    secret = secret_file.read_bytes()

    real_open = os.open

    def failing(path: Path, flags: int, mode: int = 0o777) -> int:
        if Path(path) == secret_file:
            raise OSError(errno.EIO, "Input/output error")
        return real_open(path, flags, mode)

    with monkeypatch.context() as patched:
        patched.setattr(os, "open", failing)
        assert HeldPlace(tmp_path, "127.0.0.1", 4000, phone).load() is None  # this start only
    assert secret_file.read_bytes() == secret
    assert HeldPlace(tmp_path, "127.0.0.1", 4000, phone).load() == KeepPlace("tok", 3, "", 120.0)


def test_an_earlier_key_at_the_folders_top_moves_into_desk_and_never_replaces_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "identity.key").write_text("earlier\n")
    take_earlier_key(tmp_path)
    assert (tmp_path / "desk" / "identity.key").read_text() == "earlier\n"
    assert not (tmp_path / "identity.key").exists()
    (tmp_path / "identity.key").write_text("another\n")
    take_earlier_key(tmp_path)  # one in desk/ already: it stays, and so does the other
    assert (tmp_path / "desk" / "identity.key").read_text() == "earlier\n"
    assert (tmp_path / "identity.key").exists()
    take_earlier_key(tmp_path / "new")  # nothing to move: nothing is made
    assert not (tmp_path / "new").exists()


def test_a_client_whose_key_holds_no_key_says_so_in_a_line_and_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "desk").mkdir()
    (tmp_path / "desk" / "identity.key").write_text("damaged\n")
    desk = ("127.0.0.1", 9)  # (never asked: the key is read first)
    code = asyncio.run(run_desk_client(desk, stdin_is_tty=False, state_dir=tmp_path))
    [said] = capsys.readouterr().out.splitlines()
    assert code == 1 and said.startswith(">>> [Cannot use your key: The key file ")
    assert "holds no key. Move it aside" in said
