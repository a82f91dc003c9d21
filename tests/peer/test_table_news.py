"""TableNews: the table's updates and whole tables as taken, and what they say of us."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.change_lines import TABLE_UPDATED
from peer.core.lifecycle import LifePhase
from peer.core.shared import Shared
from peer.core.table import HELD_UPDATES
from peer.core.table_news import TableNews
from tests.peer.parts_kit import ME, T0, link, prints, sent, shared
from wire.messages import (
    Alive,
    Entry,
    Keepalive,
    TableRequest,
    TableSnapshot,
    TableUpdate,
    Welcome,
)


def news(made: Shared | None = None) -> TableNews:
    """The part, over `made` (alice's state, registered, if not given)."""
    made = shared() if made is None else made
    registry = link(made)
    return TableNews(made, registry)


def test_the_next_update_is_applied_and_a_gap_is_held_for_the_registry_to_fill() -> None:
    # the registry sends again what we have not acked: a gap asks for nothing
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    table_news.update(
        TableUpdate("r-1", 4, (Entry("dave", "127.0.0.1", 6004, True),)), T0, out.append
    )
    assert prints(out) == [TABLE_UPDATED, "[dave is online]"]
    out.clear()
    table_news.update(TableUpdate("r-2", 9, ()), T0, out.append)
    table_news.update(TableUpdate("r-3", 4, ()), T0, out.append)  # a copy
    assert out == []
    table_news.update(TableUpdate("r-4", 8, (), 4), T0 + 1, out.append)  # the rows since 4
    assert made.table.version == 9 and out == []


def test_a_gap_past_what_is_held_asks_for_the_whole_table_once() -> None:
    table_news, out = news(), list[pa.Action]()
    table_news.update(TableUpdate("r-1", 5 + HELD_UPDATES, ()), T0, out.append)
    table_news.update(TableUpdate("r-2", 6 + HELD_UPDATES, ()), T0, out.append)
    assert sent(out) == [TableRequest("a-1")]


def test_our_name_released_by_the_console_takes_us_offline() -> None:
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    table_news.update(
        TableUpdate("r-1", 4, (Entry("alice", "127.0.0.1", 0, False),)), T0, out.append
    )
    assert prints(out)[-1].startswith("[The registry released the name alice: you are offline.")
    assert made.life.phase is LifePhase.OFFLINE


def test_a_whole_table_without_us_and_no_rename_asked_is_a_release() -> None:
    table_news, out = news(), list[pa.Action]()
    table_news.snapshot(TableSnapshot("r-1", "x", 7, (), ()), T0, out.append)
    assert "[The registry released the name alice" in prints(out)[-1]
    out.clear()
    table_news.snapshot(
        TableSnapshot("r-2", "x", 6, (Entry("alice", *ME, True),), ()), T0, out.append
    )
    assert out == []  # older than ours


def test_an_alive_past_our_table_asks_for_the_whole_table() -> None:
    # the registry tells a version past the one it acked only when it cannot push what
    # we missed (registry/core/table_watch.py)
    table_news, out = news(), list[pa.Action]()
    keepalive = Keepalive("a-9", "alice", "tok", 3)
    table_news.alive(keepalive, Alive("r-1", "a-9", 3), T0, out.append)
    assert out == []
    table_news.alive(keepalive, Alive("r-2", "a-9", 5), T0, out.append)
    table_news.alive(keepalive, Alive("r-3", "a-9", 5), T0, out.append)
    assert sent(out) == [TableRequest("a-1")]  # asked once


def test_a_welcome_without_rows_asks_for_the_table_and_holds_the_updates_for_it() -> None:
    # a big table does not come in the Welcome: asked for once, then taken with the
    # updates that came meanwhile; a snapshot from before our own row is no release
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    table_news.welcome_table(Welcome("r-1", "g-1", "alice", "tok", 8, (), (), ()), T0, out.append)
    assert sent(out) == [TableRequest("a-1")] and prints(out) == []
    bob = Entry("bob", "127.0.0.1", 6002, True)
    table_news.update(TableUpdate("r-2", 9, (Entry("alice", *ME, True),)), T0, out.append)
    table_news.update(TableUpdate("r-3", 10, (bob,)), T0, out.append)
    assert sent(out) == [TableRequest("a-1")]  # asked once
    out.clear()
    table_news.snapshot(TableSnapshot("r-4", "a-1", 8, (), ()), T0 + 0.1, out.append)
    table = made.table
    assert table.version == 10 and "alice" in table and "bob" in table
    assert not any("released" in line for line in prints(out))


def test_a_welcome_with_rows_replaces_the_table_and_asks_for_nothing() -> None:
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    own = (Entry("alice", *ME, True),)
    table_news.welcome_table(Welcome("r-1", "g-1", "alice", "tok", 8, own, (), ()), T0, out.append)
    assert sent(out) == [] and made.table.version == 8


def test_updates_that_come_while_the_table_comes_over_tcp_do_not_ask_for_it_again() -> None:
    # a big table is asked over TCP: each update that came meanwhile asked for it once
    # more, and a join storm's peers took two or three whole tables each
    made = shared()
    registry = link(made)
    table_news, out = TableNews(made, registry), list[pa.Action]()
    table_news.welcome_table(Welcome("r-1", "g-1", "alice", "tok", 8, (), (), ()), T0, out.append)
    assert [(type(a), a.stream) for a in out] == [
        (pa.SendSealed, True)
    ]  # over TCP at once: no TooBig first
    out.clear()
    for version in range(9, 9 + 2 * HELD_UPDATES):
        table_news.update(TableUpdate(f"u-{version}", version, ()), T0 + 0.2, out.append)
    assert sent(out) == []


def test_every_update_pushed_while_the_table_comes_follows_it() -> None:
    # a join storm pushed more than HELD_UPDATES before a slow whole table came: the first
    # of them had given way, the table was not followed, and it was asked for again
    made = shared()
    registry = link(made)
    table_news, out = TableNews(made, registry), list[pa.Action]()
    table_news.welcome_table(Welcome("r-1", "g-1", "alice", "tok", 8, (), (), ()), T0, out.append)
    [asked] = sent(out)
    last = 10 + 2 * HELD_UPDATES
    for version in range(11, last + 1):  # pushed from the version the table is taken at
        table_news.update(TableUpdate(f"u-{version}", version, ()), T0 + 0.2, out.append)
    made.requests.answer_came(asked.id, T0 + 1)
    table_news.snapshot(TableSnapshot("s-1", asked.id, 10, (), ()), T0 + 1, out.append)
    assert made.table.version == last
    table_news.update(TableUpdate("u-next", last + 1, ()), T0 + 2, out.append)
    assert made.table.version == last + 1 and sent(out) == [asked]


def test_an_update_since_a_version_we_passed_is_applied_and_one_past_ours_waits() -> None:
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    version = made.table.version
    ahead = TableUpdate("r-2", version + 5, (Entry("erin", "127.0.0.1", 6005, True),), version + 2)
    table_news.update(ahead, T0, out.append)
    assert out == []  # starts past ours: held
    dave = Entry("dave", "127.0.0.1", 6004, True)
    caught_up = TableUpdate("r-1", version + 2, (dave,), max(version - 1, 0))
    table_news.update(caught_up, T0, out.append)  # every row since an older version
    table = made.table
    assert table.version == version + 5 and "dave" in table and "erin" in table
