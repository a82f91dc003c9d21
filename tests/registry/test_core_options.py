"""RegistryCore's options: checked as it is made, as mypy checks them in the program."""

from __future__ import annotations

import pytest

from registry.core.dispatch import RESTART_JUMP, RegistryCore
from registry.core.table import Record, Table


def test_an_unknown_or_missing_option_is_the_adapter_s_slip() -> None:
    with pytest.raises(TypeError, match="unknown options \\['keep_alive'\\]"):
        RegistryCore(session="r", new_token=lambda: "0" * 32, keep_alive=1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing \\['new_token'\\]"):
        RegistryCore(session="r")  # type: ignore[call-arg]


def test_a_table_read_back_that_knows_what_it_pushed_continues_its_versions() -> None:
    first = RegistryCore(session="r", new_token=lambda: "0" * 32)
    assert first.table.version == 0
    table = Table(version=40)
    table.records["bob"] = Record("bob", "127.0.0.1", 7002, False, "t")
    again = RegistryCore(session="r2", new_token=lambda: "0" * 32, table=table)
    assert again.table.version == 40  # the peers keep their tables


def test_a_table_read_back_that_does_not_know_moves_its_version_ahead() -> None:
    # an older file, or a service's table: every peer sees a gap and fetches a snapshot
    table = Table(version=40, continues=False)
    table.records["bob"] = Record("bob", "127.0.0.1", 7002, False, "t")
    again = RegistryCore(session="r2", new_token=lambda: "0" * 32, table=table)
    assert again.table.version == 40 + RESTART_JUMP
