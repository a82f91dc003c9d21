"""PeerCore as a whole, the lines that tell of others' changes, a few at once."""

from __future__ import annotations

import pytest

from peer.core.change_lines import (
    FOLD_OVER,
    LINE_EVERY,
    LINES_BURST,
    MANY_HINT,
    TABLE_UPDATED,
)
from peer.core.registration import WELCOME, YOU_HAVE_MESSAGES
from tests.peer.core_kit import (
    SERVER,
    T0,
    prints,
    quit_notice,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY
from wire.messages import (
    Ack,
    Entry,
    Notice,
    StoredMessage,
    TableUpdate,
    Welcome,
)


def test_a_burst_of_table_changes_is_said_in_a_few_lines_not_one_per_change() -> None:
    # a flood of names printed 560 "[Client table updated.]" lines at every online peer
    core, _ = registered()  # the Welcome's line is said at once, outside the burst
    lines: list[str] = []
    for n in range(200):
        row = (Entry(f"junk{n:03d}", "127.0.0.1", 30199, True),)
        now = T0 + n / 100
        out = run_until(core, now) + core.receive(
            TableUpdate(f"u-{n}", 4 + n, row), SERVER, REGISTRY_KEY, now
        )
        lines += prints(out)
    lines += prints(run_until(core, T0 + 3))
    updated = [text for text in lines if text == TABLE_UPDATED]
    news = [text for text in lines if text != TABLE_UPDATED]
    # the burst, then one a second over the two seconds of changes
    assert len(updated) == LINES_BURST + 2 / LINE_EVERY, lines
    # each followed by what changed since the one before, folded: a line or so each
    assert len(news) <= len(updated) * FOLD_OVER, lines
    assert f"[100 people came online. {MANY_HINT}]" in news, news
    assert len(core.table.rows()) == 203  # every change applied at once, only said later
    # quiet again: the next change is said at once
    later = T0 + 6  # (before the first keepalive)
    run_until(core, later)
    update = TableUpdate("u-x", 204, (Entry("dave", "127.0.0.1", 6004, True),))
    assert prints(core.receive(update, SERVER, REGISTRY_KEY, later)) == [
        TABLE_UPDATED,
        "[dave is online]",
    ]


def test_a_burst_of_quits_is_said_in_a_few_lines_naming_who_quit() -> None:
    # Issue: 30 scripted peers ending together printed 30 "[<name> has quit]" lines on
    # every screen; the table's line was folded already
    core, _ = registered()
    out = [
        a
        for n in range(30)
        for a in core.receive(quit_notice(n, f"p{n:02d}"), SERVER, REGISTRY_KEY, T0)
    ]
    out += run_until(core, T0 + 3)
    first = [f"[p{n:02d} has quit]" for n in range(LINES_BURST)]
    names = ", ".join(f"p{n:02d}" for n in range(LINES_BURST, LINES_BURST + 8))
    assert prints(out) == [*first, f"[{30 - LINES_BURST} more have quit: {names}, …]"]
    # quiet again: the next is said at once, farewell and all
    out = core.receive(quit_notice(99, "bob", "off to lunch"), SERVER, REGISTRY_KEY, T0 + 6)
    assert prints(out) == ["[bob has quit (off to lunch)]"]
    # a copy of a notice already shown is not shown again
    assert (
        prints(core.receive(quit_notice(99, "bob", "off to lunch"), SERVER, REGISTRY_KEY, T0 + 6))
        == []
    )


def test_someone_who_quits_is_said_once_not_also_gone_offline() -> None:
    core, _ = registered()
    core.receive(
        TableUpdate("u-1", 4, (Entry("dave", "127.0.0.1", 6004, True),)), SERVER, REGISTRY_KEY, T0
    )
    # the registry says the quit first, then the row's change
    assert prints(core.receive(quit_notice(1, "dave"), SERVER, REGISTRY_KEY, T0 + 5)) == [
        "[dave has quit]"
    ]
    gone = TableUpdate("u-2", 5, (Entry("dave", "127.0.0.1", 6004, False),))
    assert prints(core.receive(gone, SERVER, REGISTRY_KEY, T0 + 5)) == [TABLE_UPDATED]


def test_one_quit_held_back_is_said_as_it_came_and_a_few_are_all_named() -> None:
    core, _ = registered()
    for n in range(LINES_BURST):
        core.receive(quit_notice(n, f"p{n}"), SERVER, REGISTRY_KEY, T0)
    out = core.receive(quit_notice(9, "dan", "bye all"), SERVER, REGISTRY_KEY, T0 + 0.1)
    assert prints(out) == []  # held for the line due a second after the burst
    assert core.next_wake() == pytest.approx(T0 + LINE_EVERY)
    assert prints(run_until(core, T0 + 1.5)) == ["[dan has quit (bye all)]"]
    core.receive(quit_notice(10, "erin"), SERVER, REGISTRY_KEY, T0 + 1.6)
    core.receive(quit_notice(11, "fay"), SERVER, REGISTRY_KEY, T0 + 1.7)
    assert prints(run_until(core, T0 + 3)) == ["[2 more have quit: erin, fay]"]
    # other notices are not held
    out = core.receive(Notice("n-1", "You are sending too fast."), SERVER, REGISTRY_KEY, T0 + 3)
    assert prints(out) == ["[You are sending too fast.]"]


def test_the_welcomes_table_line_comes_at_once_between_it_and_the_mail() -> None:
    # found by the e2e scenario: after a burst of changes, `reg` showed the mail first and
    # "[Client table updated.]" after it
    core, _ = registered()
    for n in range(LINES_BURST + 2):
        row = (Entry(f"p{n}", "127.0.0.1", 7000 + n, True),)
        core.receive(TableUpdate(f"u-{n}", 4 + n, row), SERVER, REGISTRY_KEY, T0)
    [dereg] = sent(core.line("dereg alice", T0))
    core.receive(Ack("r-9", dereg.id), SERVER, REGISTRY_KEY, T0)
    [register] = sent(core.line("reg alice", T0))
    entries = tuple(core.table.rows())
    mail = (StoredMessage("m1", "bob", "2026-11-21 10:00:00", "hi", "direct"),)
    welcome = Welcome("r-10", register.id, "alice", "tok", 20, entries, mail, ())
    shown = prints(core.receive(welcome, SERVER, REGISTRY_KEY, T0))
    # what changed since the last table line follows it: p3 and p4, held back in the burst
    assert shown[:5] == [
        WELCOME,
        TABLE_UPDATED,
        "[p3 is online]",
        "[p4 is online]",
        YOU_HAVE_MESSAGES,
    ], shown
    assert TABLE_UPDATED not in prints(run_until(core, T0 + 5))  # nothing held back is said
