"""registry/core/authority.py alone: who may act for a name."""

from __future__ import annotations

import pytest

from registry.core import actions as ra
from registry.core import credentials
from registry.core.authority import Claim
from registry.core.requests import Request
from tests.registry.parts_helpers import TOKEN, record, refusals, services
from wire.refusals import OFFLINE_REFUSAL, RefusalCode

AT = ("127.0.0.1", 7001)


def test_the_owner_s_key_and_token_find_the_record() -> None:
    s = services()
    alice = record(s, "alice", 7001, key="k1")
    out: list[ra.Action] = []
    req = Request("alice-5", AT, "k1")
    assert s.names.authorised(req, "Alice", TOKEN, Claim("join"), out.append) is alice
    assert out == []


def test_an_unknown_name_is_refused_with_its_code() -> None:
    s = services()
    out: list[ra.Action] = []
    assert (
        s.names.authorised(Request("x-1", AT), "nobody", TOKEN, Claim("join"), out.append) is None
    )
    assert [r.code for r in refusals(out)] == [RefusalCode.NAME_UNKNOWN]
    line = "refused join of unknown nobody: " + refusals(out)[0].reason
    assert out[0] == ra.Log(line, "no such name")  # counted under one kind, whatever name


def test_a_wrong_token_or_another_key_is_refused() -> None:
    s = services()
    record(s, "alice", 7001, key="k1")
    out: list[ra.Action] = []
    assert (
        s.names.authorised(Request("a-1", AT, "k1"), "alice", "0" * 32, Claim("x"), out.append)
        is None
    )
    assert (
        s.names.authorised(Request("a-2", AT, "k2"), "alice", "0" * 32, Claim("x"), out.append)
        is None
    )
    assert [r.reason for r in refusals(out)] == [
        "Wrong token for that name.",
        "That name belongs to another key.",
    ]


@pytest.mark.needs_pure  # counts the hashes through credentials.token_hash
def test_a_token_is_hashed_once_and_a_wrong_one_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed: list[str] = []
    real = credentials.token_hash

    def counted(token: str) -> str:
        hashed.append(token)
        return real(token)

    monkeypatch.setattr(credentials, "token_hash", counted)
    s = services()
    alice = record(s, "alice", 7001, key="k1")  # its token kept as its hash
    for n in range(3):
        req = Request(f"a-{n}", AT, "k1")
        assert s.names.authorised(req, "alice", TOKEN, Claim("x"), [].append) is alice
    out: list[ra.Action] = []
    wrong = Request("a-9", AT, "k1")
    assert s.names.authorised(wrong, "alice", "0" * 32, Claim("x"), out.append) is None
    assert [r.reason for r in refusals(out)] == ["Wrong token for that name."]
    assert hashed == [TOKEN]


def test_a_fresh_request_from_an_earlier_start_is_told_it_was_replaced() -> None:
    s = services()
    alice = record(s, "alice", 7001, key="k1")
    alice.last_register_id = "new-1"
    out: list[ra.Action] = []
    stale = Request("old-7", AT, "k1")
    assert s.names.authorised(stale, "alice", TOKEN, Claim("keepalive"), out.append) is not None
    assert (
        s.names.authorised(stale, "alice", TOKEN, Claim("keepalive", fresh=True), out.append)
        is None
    )
    assert [r.code for r in refusals(out)] == [RefusalCode.REPLACED]


def test_a_member_must_be_online() -> None:
    s = services()
    record(s, "alice", 7001, key="k1", online=False)
    out: list[ra.Action] = []
    assert (
        s.names.authorised(
            Request("a-1", AT, "k1"), "alice", TOKEN, Claim("join", online=True), out.append
        )
        is None
    )
    assert [(r.reason, r.code) for r in refusals(out)] == [(OFFLINE_REFUSAL, RefusalCode.OFFLINE)]
