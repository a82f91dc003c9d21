"""registry/core/requests.py alone: the request being answered, and the answers made of it."""

from __future__ import annotations

import pytest

from registry.core import actions as ra
from registry.core import requests
from registry.core.requests import (
    Answers,
    Recent,
    Request,
    another_start,
    remember,
)
from tests.registry.parts_helpers import refusals
from wire.keys import key_text
from wire.messages import Ack
from wire.refusals import RefusalCode

ADDR = ("10.0.0.1", 7000)
KEY = bytes(range(32))


def test_a_refusal_is_logged_and_sent_for_the_key_that_asked() -> None:
    out: list[ra.Action] = []
    req = Request("p-1", ADDR, key_text(KEY))
    Answers(lambda: "r-1").refuse(req, "No.", "join by p", out.append, RefusalCode.OFFLINE)
    assert out[0] == ra.Log("refused join by p: No.", "No.")  # a refusal: rate-limited
    assert isinstance(out[1], ra.Send) and out[1].key == KEY and out[1].addr == ADDR
    [refused] = refusals(out)
    assert (refused.reply_to, refused.reason, refused.code) == ("p-1", "No.", RefusalCode.OFFLINE)


def test_an_ack_answers_the_request_at_its_address() -> None:
    out: list[ra.Action] = []
    Answers(lambda: "r-9").ack(Request("p-1", ADDR), out.append)
    assert out == [ra.Send(ADDR, Ack("r-9", "p-1"), b"")]  # (a keyless test sender)


def test_a_done_request_s_copy_is_only_acked() -> None:
    answers = Answers(lambda: "r-1")
    out: list[ra.Action] = []
    req = Request("p-1", ADDR)
    assert not answers.done_before(req, out.append) and out == []
    answers.done(req, out.append)
    assert out == [ra.Send(ADDR, Ack("r-1", "p-1"), b"")]
    assert answers.done_before(req, out.append) and out[1:] == out[:1]


def test_remembered_ids_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "RECENT_IDS", 2)
    recent = Recent[int]()
    for i in range(3):
        remember(recent, f"id-{i}", i)
    assert list(recent) == ["id-1", "id-2"]


def test_another_start_is_told_by_the_session_of_the_ids() -> None:
    assert another_start("a1-5", "a2-3") and not another_start("a1-5", "a1-3")
    assert another_start("x", "y") and not another_start("x", "x")  # ids that name no session


def test_a_request_counts_against_its_key_and_ip() -> None:
    req = Request("p-1", ADDR, "k")
    assert req.origin == ("k", "10.0.0.1") and req.asker == b""  # a key of no valid text
