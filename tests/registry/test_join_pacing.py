"""Registrations asked to wait (registry/core/registration.py's `arrived`), on their own."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.registration import BUSY_AFTER, BUSY_WAIT_MIN, Registration
from registry.core.requests import Request
from registry.core.table import Record, Table
from registry.core.table_feed import WELCOME_ROWS
from tests.registry.parts_helpers import T0, logs, parts, sent, services
from wire.messages import Busy, Register, Welcome
from wire.version import WIRE_VERSION

AT = ("127.0.0.1", 7001)
ASK = Register("a-1", "alice", 7001, "", "", WIRE_VERSION)


def registration(table: Table | None = None) -> Registration:
    made = parts(services(table)).registration
    made.jitter = lambda: 0.5
    return made


def test_a_registration_while_behind_is_asked_to_wait_and_counted() -> None:
    paced = registration()
    out: list[ra.Action] = []
    paced.arrived(ASK, Request("a-1", AT, behind=BUSY_AFTER), T0, out.append)
    [(_, busy)] = sent(out)
    assert isinstance(busy, Busy) and busy.wait_ms == round(BUSY_WAIT_MIN * 1000)
    assert paced.busy_answers == 1 and len(logs(out)) == 1
    more: list[ra.Action] = []
    paced.arrived(ASK, Request("a-1", AT, behind=BUSY_AFTER), T0 + 1, more.append)
    assert [type(m) for _, m in sent(more)] == [Busy]
    assert logs(more) == []  # said once every few seconds


def test_a_copy_of_a_registration_done_is_answered_busy_or_not() -> None:
    table = Table()
    table.records["alice"] = Record("alice", *AT, True, "t", last_register_id="a-1")
    paced, out = registration(table), []
    paced.arrived(ASK, Request("a-1", AT, behind=5.0), T0, out.append)
    assert paced.busy_answers == 0 and not any(isinstance(m, Busy) for _, m in sent(out))


def test_a_datagram_s_registration_into_a_big_table_is_carried_out() -> None:
    # its Welcome does not carry the table (registry/core/table_feed.py): it fits a datagram
    table = Table()
    for i in range(WELCOME_ROWS + 1):
        table.records[f"p{i}"] = Record(f"p{i}", "127.0.0.1", 8000 + i, False, "t")
    paced, out = registration(table), []
    paced.arrived(ASK, Request("a-1", AT, datagram=True), T0, out.append)
    assert Welcome in [type(m) for _, m in sent(out)] and paced.busy_answers == 0
