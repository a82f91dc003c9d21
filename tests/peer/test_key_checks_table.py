"""KeyChecks.listed_in: a table's rows checked against the keys pinned, cheaply."""

from __future__ import annotations

from pathlib import Path

from peer.adapter.key_checks import KeyChecks
from peer.adapter.key_contact import ContactRule
from peer.core.actions import Print
from peer.core.table import Trust
from wire.keys import key_text
from wire.messages import Entry, TableSnapshot

SERVER = ("127.0.0.1", 5000)
OLD, NEW = bytes(range(32)), bytes(range(1, 33))


def checks(data_dir: Path, shown: list[Print]) -> KeyChecks:
    return KeyChecks(
        data_dir, SERVER, Trust(b"", lambda name: None), shown.append, rule=ContactRule()
    )


def table(key: bytes) -> TableSnapshot:
    return TableSnapshot("r-1", "", 1, (Entry("bob", "127.0.0.1", 6002, True, key_text(key)),), ())


def test_a_key_changed_since_an_earlier_run_is_said_once_from_the_table(tmp_path: Path) -> None:
    shown: list[Print] = []
    checks(tmp_path, shown).pinned("bob", OLD)  # talked in an earlier run
    later = checks(tmp_path, shown)
    later.listed_in(table(NEW))
    later.listed_in(table(NEW))
    assert [p.text for p in shown if "has changed" in p.text] == [
        "[bob's key has changed since you last talked; compare fingerprints with /whois bob.]"
    ]


def test_a_table_of_names_never_talked_with_says_nothing(tmp_path: Path) -> None:
    shown: list[Print] = []
    fresh = checks(tmp_path, shown)
    fresh.listed_in(table(NEW))
    assert shown == []
