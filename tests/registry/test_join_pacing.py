"""registry/core/pacing.py alone: registrations asked to wait."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.pacing import BUSY_AFTER, BUSY_WAIT_MIN, Pacing
from registry.core.requests import Answers, Request
from registry.core.table import Record, Table
from registry.core.table_feed import WELCOME_ROWS
from tests.registry.parts_helpers import T0, logs, sent
from wire.messages import Busy, Register
from wire.version import WIRE_VERSION

AT = ("127.0.0.1", 7001)
ASK = Register("a-1", "alice", 7001, "", "", WIRE_VERSION)


def pacing(table: Table | None = None) -> Pacing:
    return Pacing(table if table is not None else Table(), Answers(lambda: "r-1"), lambda: 0.5)


def test_a_registration_while_behind_is_asked_to_wait_and_counted() -> None:
    paced = pacing()
    out: list[ra.Action] = []
    assert paced.paced(ASK, Request("a-1", AT, behind=BUSY_AFTER), T0, out.append)
    [(_, busy)] = sent(out)
    assert isinstance(busy, Busy) and busy.wait_ms == round(BUSY_WAIT_MIN * 1000)
    assert paced.busy_answers == 1 and len(logs(out)) == 1
    more: list[ra.Action] = []
    assert paced.paced(ASK, Request("a-1", AT, behind=BUSY_AFTER), T0 + 1, more.append)
    assert logs(more) == []  # said once every few seconds


def test_a_copy_of_a_registration_done_is_answered_busy_or_not() -> None:
    table = Table()
    table.records["alice"] = Record("alice", *AT, True, "t", last_register_id="a-1")
    assert not pacing(table).paced(ASK, Request("a-1", AT, behind=5.0), T0, [])


def test_a_datagram_s_registration_into_a_big_table_is_carried_out() -> None:
    # its Welcome does not carry the table (registry/core/table_feed.py): it fits a datagram
    table = Table()
    for i in range(WELCOME_ROWS + 1):
        table.records[f"p{i}"] = Record(f"p{i}", "127.0.0.1", 8000 + i, False, "t")
    out: list[ra.Action] = []
    assert not pacing(table).paced(ASK, Request("a-1", AT, datagram=True), T0, out.append)
    assert out == []
