"""Our renames (TableNews): /nick asked of the registry, done by its answer or by the table."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.table_news import NOW_KNOWN_AS, TableNews
from tests.peer.parts_kit import T0, link, prints, sent, shared
from wire.messages import Rename
from wire.names import name_key


def test_a_rename_is_asked_once_and_done_by_its_answer() -> None:
    made = shared()
    renames = TableNews(made, link(made))
    out: list[pa.Action] = []
    renames.rename("alicia", T0, out.append)
    renames.rename("ally", T0, out.append)
    rename = Rename("a-1", "alice", "tok", "alicia")
    assert sent(out) == [rename]
    assert prints(out) == ["[A rename is already on its way; wait for its answer.]"]
    out.clear()
    renames.rename_answered(rename, rename, T0, out.append)
    assert made.state.name == "alicia" and name_key("alice") in made.state.former
    assert out == [
        pa.Remember("alicia", "tok"),
        pa.Print(NOW_KNOWN_AS.format("alicia"), "system"),
    ]
    assert "alicia" in made.table and "alice" not in made.table


def test_a_name_that_is_none_or_ours_already_is_not_asked() -> None:
    made = shared()
    renames = TableNews(made, link(made))
    out: list[pa.Action] = []
    renames.rename("alice", T0, out.append)
    renames.rename("a b", T0, out.append)
    assert sent(out) == [] and prints(out)[0] == "[You are already called alice.]"
    assert prints(out)[1].startswith("[Cannot rename to 'a b':")


def test_the_table_showing_the_new_name_first_does_the_rename() -> None:
    made = shared()
    renames = TableNews(made, link(made))
    out: list[pa.Action] = []
    renames.rename("alicia", T0, out.append)
    renames.own_rename_seen("ALICIA", out.append)
    assert made.state.name == "alicia" and not made.requests.any_of(Rename)
