"""Names alone: an old name leads to the renamed peer for RENAME_GRACE."""

from __future__ import annotations

import pytest

from registry.core.authority import RENAME_GRACE, Names
from registry.core.requests import Answers
from registry.core.table import Record, Table
from wire.messages import Alias

T0 = 1_700_000_000.0


def renamed(table: Table, old: str, new: str, aliases: Names, now: float = T0) -> Record:
    record = table.records.pop(old.lower())
    record.name = new
    table.records[new.lower()] = record
    aliases.renamed(old.lower(), new.lower(), now)
    return record


def test_a_chain_of_renames_leads_to_the_last_name() -> None:
    table = Table()
    table.records["a"] = Record("a", "127.0.0.1", 7000, True, "t")
    aliases = Names(table, Answers(lambda: "r-1"))
    renamed(table, "a", "b", aliases)
    record = renamed(table, "b", "c", aliases)
    assert aliases.lookup("A") is record and aliases.lookup("b") is record
    assert aliases.rows() == (Alias("a", "c"), Alias("b", "c"))


def test_an_old_name_is_reserved_for_others_until_its_grace_is_over() -> None:
    table = Table()
    table.records["a"] = Record("a", "127.0.0.1", 7000, True, "t")
    aliases = Names(table, Answers(lambda: "r-1"))
    record = renamed(table, "a", "b", aliases)
    assert "renamed b just now" in aliases.reserved("a", None, T0 + 1)
    assert aliases.reserved("a", record, T0 + 1) == ""  # its own peer may take it back
    assert aliases.reserved("a", None, T0 + RENAME_GRACE) == ""
    aliases.expire(T0 + RENAME_GRACE)
    assert aliases.lookup("a") is None and aliases.rows() == ()


def test_a_name_taken_leads_nowhere_else() -> None:
    table = Table()
    table.records["a"] = Record("a", "127.0.0.1", 7000, True, "t")
    aliases = Names(table, Answers(lambda: "r-1"))
    renamed(table, "a", "b", aliases)
    aliases.taken("a")
    assert aliases.lookup("a") is None


def test_a_rename_to_the_same_key_is_the_caller_s_slip() -> None:
    with pytest.raises(ValueError):
        Names(Table(), Answers(lambda: "r-1")).renamed("a", "a", T0)
