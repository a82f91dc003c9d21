"""TableNews: the table's updates and whole tables as taken, and what they say of us."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.change_lines import TABLE_UPDATED
from peer.core.lifecycle import Phase
from peer.core.renames import Renames
from peer.core.shared import Shared
from peer.core.table import HELD_UPDATES
from peer.core.table_news import GAP_WAIT, TableNews
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
    return TableNews(made, registry, Renames(made, registry))


def test_the_next_update_is_applied_and_a_gap_fetches_what_changed_since_our_version() -> None:
    table_news, out = news(), list[pa.Action]()
    table_news.update(
        TableUpdate("r-1", 4, (Entry("dave", "127.0.0.1", 6004, True),)), T0, out.append
    )
    assert prints(out) == [TABLE_UPDATED]
    out.clear()
    table_news.update(TableUpdate("r-2", 9, ()), T0, out.append)
    assert out == [] and table_news.gap_over_at == T0 + GAP_WAIT  # held: 5 to 8 may come
    table_news.update(TableUpdate("r-3", 4, ()), T0, out.append)  # a copy
    table_news.tick(T0 + GAP_WAIT, out.append)
    assert sent(out) == [TableRequest("a-1", since=4)]


def test_our_name_released_by_the_console_takes_us_offline() -> None:
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    table_news.update(
        TableUpdate("r-1", 4, (Entry("alice", "127.0.0.1", 0, False),)), T0, out.append
    )
    assert prints(out)[-1].startswith("[The registry released the name alice: you are offline.")
    assert made.life.phase is Phase.OFFLINE


def test_a_whole_table_without_us_and_no_rename_asked_is_a_release() -> None:
    table_news, out = news(), list[pa.Action]()
    table_news.snapshot(TableSnapshot("r-1", "x", 7, (), ()), T0, out.append)
    assert "[The registry released the name alice" in prints(out)[-1]
    out.clear()
    table_news.snapshot(
        TableSnapshot("r-2", "x", 6, (Entry("alice", *ME, True),), ()), T0, out.append
    )
    assert out == []  # older than ours


def test_an_alive_with_a_newer_table_fetches_it_unless_its_updates_come_meanwhile() -> None:
    # in a join storm nearly every keepalive's answer is ahead of the updates on their way:
    # each fetched the whole table at once
    table_news, out = news(), list[pa.Action]()
    keepalive = Keepalive("a-9", "alice", "tok")
    table_news.alive(keepalive, Alive("r-1", "a-9", 3), T0, out.append)
    assert out == [] and table_news.gap_over_at is None
    table_news.alive(keepalive, Alive("r-2", "a-9", 5), T0, out.append)
    assert out == [] and table_news.gap_over_at == T0 + GAP_WAIT
    table_news.tick(T0 + GAP_WAIT, out.append)
    assert sent(out) == [TableRequest("a-1", since=3)]
    # the same, but its updates come within the wait: nothing is fetched
    table_news, out = news(), list[pa.Action]()
    table_news.alive(keepalive, Alive("r-3", "a-9", 5), T0, out.append)
    for version in (4, 5):
        table_news.update(TableUpdate(f"u-{version}", version, ()), T0 + 1, out.append)
    assert table_news.gap_over_at is None
    table_news.tick(T0 + GAP_WAIT, out.append)
    assert sent(out) == []


def test_updates_on_their_way_from_a_registry_measured_slow_are_waited_for_as_long() -> None:
    # a join storm: the registry answers 3 s late, and its updates come as late; waited
    # for 2.5 s, what an Alive said was newer was fetched whole, by nearly every peer
    made = shared()
    for _ in range(8):
        made.requests.round_trip.sample(3.0)
    table_news, out = news(made), list[pa.Action]()
    keepalive = Keepalive("a-9", "alice", "tok")
    table_news.alive(keepalive, Alive("r-1", "a-9", 5), T0, out.append)
    assert table_news.gap_wait() == GAP_WAIT + 3.0  # its retries, late by a round trip
    table_news.tick(T0 + GAP_WAIT, out.append)
    table_news.update(TableUpdate("u-4", 4, ()), T0 + 3.5, out.append)
    table_news.tick(T0 + 4, out.append)
    table_news.update(TableUpdate("u-5", 5, ()), T0 + 4, out.append)
    assert sent(out) == [] and table_news.gap_over_at is None
    # what does not come is fetched all the same, once waited for
    table_news.alive(keepalive, Alive("r-2", "a-9", 6), T0 + 5, out.append)
    table_news.tick(T0 + 5 + table_news.gap_wait(), out.append)
    assert sent(out) == [TableRequest("a-1", since=5)]


def test_whois_gives_both_fingerprints_or_says_why_not() -> None:
    table_news = news()
    # as send and message say it: the same words, and where to see the names
    assert table_news.whois("dave") == pa.Print(
        "[No user named dave. Type who to see the names.]", "error"
    )
    assert "has no key yet" in table_news.whois("carol").text


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
    assert table_news.gap_over_at is None


def test_a_welcome_with_rows_replaces_the_table_and_asks_for_nothing() -> None:
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    own = (Entry("alice", *ME, True),)
    table_news.welcome_table(Welcome("r-1", "g-1", "alice", "tok", 8, own, (), ()), T0, out.append)
    assert sent(out) == [] and made.table.version == 8


def test_updates_that_come_while_the_table_comes_over_tcp_do_not_ask_for_it_again() -> None:
    # a big table is asked again over TCP after a TooBig: each update that came meanwhile
    # asked for it once more, and a join storm's peers took two or three whole tables each
    made = shared()
    registry = link(made)
    table_news, out = TableNews(made, registry, Renames(made, registry)), list[pa.Action]()
    table_news.welcome_table(Welcome("r-1", "g-1", "alice", "tok", 8, (), (), ()), T0, out.append)
    [ask] = sent(out)
    assert made.requests.stream(ask.id, T0 + 0.1) is not None  # the TooBig came
    out.clear()
    for version in range(9, 9 + 2 * HELD_UPDATES):
        table_news.update(TableUpdate(f"u-{version}", version, ()), T0 + 0.2, out.append)
    assert sent(out) == []


def test_the_rows_since_our_version_are_taken_as_an_update_when_they_follow_our_table() -> None:
    # one whole table per registration, then changes: what a gap missed comes as the rows
    # changed since the version we asked from, not as the whole table again
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    table_news.update(TableUpdate("r-9", 9, ()), T0, out.append)  # 4 to 8 missed
    table_news.tick(T0 + GAP_WAIT, out.append)
    assert sent(out) == [TableRequest("a-1", since=3)]
    bob = Entry("bob", "127.0.0.1", 6002, True)
    gone = Entry("carol", "127.0.0.1", 0, False)
    made.table.apply(TableUpdate("r-0", 4, (Entry("carol", "127.0.0.1", 6003, True),)), "alice")
    out.clear()
    # answered from 3 while we reached 4 meanwhile: the rows are as they are at 8
    table_news.snapshot(TableSnapshot("r-1", "a-1", 8, (bob, gone), (), since=3), T0, out.append)
    assert made.table.version == 9 and "bob" in made.table and "carol" not in made.table
    assert "alice" in made.table and table_news.gap_over_at is None  # and 9, held, applied
    assert prints(out) == [TABLE_UPDATED]
    # rows since a version our table is not at yet, or already past: not taken
    for since, version in ((10, 12), (7, 9)):
        changes = TableSnapshot("r-2", "a-2", version, (Entry("bob", "", 0, False),), (), since)
        table_news.snapshot(changes, T0, out.append)
        assert made.table.version == 9 and "bob" in made.table


def test_an_update_since_a_version_we_passed_is_applied_and_one_past_ours_waits() -> None:
    made = shared()
    table_news, out = news(made), list[pa.Action]()
    version = made.table.version
    ahead = TableUpdate("r-2", version + 5, (Entry("erin", "127.0.0.1", 6005, True),), version + 2)
    table_news.update(ahead, T0, out.append)
    assert out == [] and table_news.gap_over_at is not None  # starts past ours: held
    dave = Entry("dave", "127.0.0.1", 6004, True)
    caught_up = TableUpdate("r-1", version + 2, (dave,), max(version - 1, 0))
    table_news.update(caught_up, T0, out.append)  # every row since an older version
    table = made.table
    assert table.version == version + 5 and "dave" in table and "erin" in table
    assert table_news.gap_over_at is None
