"""Work under load (wire/desk/work.py, registry/core/desk/limits.py work_bits): a busy desk
asks a new place for a hashcash puzzle, checked with one hash; a quiet one asks nothing."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from desk_harness import Desk
from hypothesis import given
from hypothesis import strategies as st

from registry.core.desk import limits, persons
from registry.core.desk.actions import DeskSend
from wire.desk.messages import DeskJoin, DeskQueued, DeskWork
from wire.desk.work import MAX_BITS, done, solve, zero_bits
from wire.version import WIRE_VERSION


@given(seed=st.binary(min_size=16, max_size=16), bits=st.integers(0, 10))
def test_a_solved_puzzle_checks_and_another_seed_does_not(seed: bytes, bits: int) -> None:
    work = solve(seed.hex(), bits)
    assert done(seed.hex(), bits, work)
    digest = hashlib.sha256(seed + bytes.fromhex(work)).digest()
    assert zero_bits(digest) >= bits


@pytest.mark.parametrize("work", ["", "zz" * 8, "00" * 9, "0" * 15])
def test_work_that_is_not_eight_bytes_of_hex_solves_nothing(work: str) -> None:
    assert not done("00" * 16, 0, work)


def test_the_work_asked_grows_with_the_room_and_stops_at_a_second_or_two() -> None:
    bits = [limits.work_bits(waiting) for waiting in (0, 19, 20, 29, 30, 70, 99, 500)]
    assert bits == [0, 0, 16, 16, 17, 21, 21, 21]
    assert max(bits) <= MAX_BITS


def test_a_busy_desk_asks_for_work_once_per_join_and_takes_the_solved_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(persons, "work_bits", lambda waiting: 6 if waiting >= 2 else 0)
    desk = Desk()
    for n in range(2):
        desk.queue.opened(f"p{n}", f"10.0.0.{n}", f"key-{n}")
        desk.join(f"p{n}", f"P{n}", phone=f"+44 7700 90000{n}")
    desk.queue.opened("v", "10.0.0.9", "key-v")
    join = DeskJoin("v-1", "Vera", "+44 7700 955555", 2, "", "", WIRE_VERSION)
    [asked] = [a.message for a in desk.send("v", join) if isinstance(a, DeskSend)]
    assert isinstance(asked, DeskWork) and asked.bits == 6 and asked.reply_to == "v-1"
    wrong = msgspec.structs.replace(join, id="v-2", work="ff" * 8)
    if not done(asked.seed, asked.bits, wrong.work):
        [again] = [a.message for a in desk.send("v", wrong) if isinstance(a, DeskSend)]
        assert isinstance(again, DeskWork) and again.seed != asked.seed  # a new puzzle
        asked = again
    right = msgspec.structs.replace(join, id="v-3", work=solve(asked.seed, asked.bits))
    answers = [a.message for a in desk.send("v", right) if isinstance(a, DeskSend)]
    assert any(isinstance(m, DeskQueued) for m in answers)
