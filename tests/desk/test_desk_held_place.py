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
from peer.adapter.desk.runner import (
    CLOCK_SKEW,
    keep_place,
    load_place,
    place_file,
    place_name,
)
from peer.adapter.desk.start import (
    PERSON_LOCK,
    hold_client_lock,
    operator_lock,
    run_desk_client,
    take_earlier_key,
)
from peer.core.desk.link import KeepPlace
from wire.desk.phone import phone_key


def held(root: Path, phone: str = "07700900606", port: int = 4000) -> Path:
    path = place_file(root, "127.0.0.1", port, phone)
    assert path is not None
    return path


def test_a_saved_place_is_read_back_and_private(tmp_path: Path) -> None:
    place = held(tmp_path)
    keep_place(place, KeepPlace("tok", 3, "Maths", 120.0))
    assert load_place(place) == KeepPlace("tok", 3, "Maths", 120.0)
    assert stat.S_IMODE(place.stat().st_mode) == 0o600
    assert "07700900606" not in str(place)  # the name does not show the number


def test_each_desk_and_number_has_its_own_place(tmp_path: Path) -> None:
    keep_place(held(tmp_path), KeepPlace("tok", 3, "", 120.0))
    assert load_place(held(tmp_path, port=4001)) is None
    assert load_place(held(tmp_path, "07700900607")) is None


def test_a_number_written_another_way_finds_its_place(tmp_path: Path) -> None:
    keep_place(held(tmp_path, "+447700900606"), KeepPlace("tok", 3, "", 120.0))
    kept = load_place(held(tmp_path))
    assert kept is not None and kept.token == "tok"


def test_a_place_past_its_grace_period_is_gone(tmp_path: Path) -> None:
    place = held(tmp_path)
    place.parent.mkdir(parents=True, exist_ok=True)
    old = {"token": "tok", "topic": 3, "description": "", "grace": 120, "alive": time.time() - 121}
    place.write_text(json.dumps(old))
    assert load_place(place) is None
    assert not place.exists()


def test_a_last_alive_time_far_in_the_future_is_damage(tmp_path: Path) -> None:
    # found by trying it: a file "alive" next year never went stale, and its place was
    # asked back at every start, long after the desk had given it up
    place = held(tmp_path)
    place.parent.mkdir(parents=True, exist_ok=True)
    ahead = {"token": "tok", "topic": 3, "description": "", "grace": 120}
    place.write_text(json.dumps(ahead | {"alive": time.time() + 365 * 86400}))
    assert load_place(place) is None
    assert not place.exists()
    # a clock set back a little since the file was written is no damage
    place.write_text(json.dumps(ahead | {"alive": time.time() + CLOCK_SKEW / 2}))
    assert load_place(place) == KeepPlace("tok", 3, "", 120.0)


def test_a_damaged_file_is_no_place_and_is_removed(tmp_path: Path) -> None:
    place = held(tmp_path)
    place.parent.mkdir(parents=True, exist_ok=True)
    for damage in ("{not json", "[1, 2]", json.dumps({"token": 7, "topic": 3})):
        place.write_text(damage)
        assert load_place(place) is None
        assert not place.exists()


def test_cleared_is_gone_and_a_missing_file_is_no_place(tmp_path: Path) -> None:
    place = held(tmp_path)
    assert load_place(place) is None
    keep_place(place, KeepPlace("tok", 3, "", 120.0))
    keep_place(place, KeepPlace())
    assert load_place(place) is None
    keep_place(place, KeepPlace())  # twice is fine


def test_a_place_that_cannot_be_written_costs_only_the_restart(tmp_path: Path) -> None:
    (tmp_path / "desk").write_text("a file where the directory should be")
    assert place_file(tmp_path, "127.0.0.1", 4000, "07700900606") is None  # no secret, no file
    place = tmp_path / "desk" / "place.json"
    keep_place(place, KeepPlace("tok", 3, "", 120.0))  # no exception: the wait goes on without it
    assert load_place(place) is None


def test_a_time_that_is_no_number_or_a_topic_that_is_none_is_no_place(tmp_path: Path) -> None:
    # Python's json reads NaN and Infinity: a place alive at NaN was never stale, and a
    # grace of NaN stopped the client when its connection broke
    place = held(tmp_path)
    place.parent.mkdir(parents=True, exist_ok=True)
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
        place.write_text(damage)
        assert load_place(place) is None
        assert not place.exists()


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
    place = held(tmp_path, phone)
    keep_place(place, KeepPlace("tok", 3, "", 120.0))
    secret_file = tmp_path / "desk" / "place-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = bytes.fromhex(secret_file.read_text())
    label = f"127.0.0.1:4000|{phone_key(phone)}"
    assert place.name == place_name(secret, label) + ".json"
    # what undid the old names: hashing every number until one matches finds nothing now
    tried = {
        hashlib.sha256(f"127.0.0.1:4000|{n}".encode()).hexdigest()[:32]
        for n in (phone_key(phone), phone, "+447700900606")
    }
    assert not any(name in place.name for name in tried)
    # another installation names the same number otherwise
    assert held(tmp_path / "other", phone).name != place.name
    # and a restarted client finds its file again
    assert load_place(held(tmp_path, phone)) == KeepPlace("tok", 3, "", 120.0)


def test_a_damaged_secret_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "desk").mkdir()
    (tmp_path / "desk" / "place-secret").write_text("not a secret\n")
    place = held(tmp_path)
    keep_place(place, KeepPlace("tok", 3, "", 120.0))
    assert len(bytes.fromhex((tmp_path / "desk" / "place-secret").read_text())) == 32
    assert load_place(held(tmp_path)) is not None


def test_a_secret_that_cannot_be_read_now_is_kept_for_a_later_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = "07700900606"
    keep_place(held(tmp_path, phone), KeepPlace("tok", 3, "", 120.0))
    secret_file = tmp_path / "desk" / "place-secret"
    secret = secret_file.read_bytes()

    real_open = os.open

    def failing(path: Path, flags: int, mode: int = 0o777) -> int:
        if Path(path) == secret_file:
            raise OSError(errno.EIO, "Input/output error")
        return real_open(path, flags, mode)

    with monkeypatch.context() as patched:
        patched.setattr(os, "open", failing)
        assert place_file(tmp_path, "127.0.0.1", 4000, phone) is None  # this start only
    assert secret_file.read_bytes() == secret
    assert load_place(held(tmp_path, phone)) == KeepPlace("tok", 3, "", 120.0)


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
