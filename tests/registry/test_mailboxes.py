"""The mailboxes of registry/core/post_office.py: each message stored once, within its box's
limit, as StoreMail actions, and a box handed over in parts."""

from __future__ import annotations

import gc
import tracemalloc

from registry.core import actions as ra
from registry.core.post_office import MAIL_PART_ITEMS, PostOffice, first_part
from registry.core.requests import NO_ORIGIN, Request
from registry.core.services import stamp
from registry.core.table import Record
from tests.registry.parts_helpers import T0, TOKEN, record, services, unstamped
from wire.messages import NOTICE_KIND, MailTaken, StoredMessage

_s = services()
Y = record(_s, "Yan", 7000, online=False)


def boxes(limit: int, kept: dict[str, list[StoredMessage]] | None = None) -> PostOffice:
    s = services()
    s.table.records["yan"] = Y
    return PostOffice(s, kept if kept is not None else {}, {}, limit)


def take(mail: PostOffice, owner: Record, ids: list[str], out: list[ra.Action]) -> None:
    """`owner`'s peer has shown the messages `ids` (MailTaken)."""
    msg = MailTaken(f"{owner.name}-t", owner.name, TOKEN, tuple(ids))
    mail.taken(msg, Request(msg.id, owner.addr), owner, T0, out.append)


def test_a_message_is_stored_once_under_its_owner_s_name_key() -> None:
    mail = boxes(10)
    out: list[ra.Action] = []
    assert mail.store(Y, unstamped("x-1", "x", "hi"), NO_ORIGIN, T0, out.append) == ""
    # a copy: kept already
    assert mail.store(Y, unstamped("x-1", "x", "hi"), NO_ORIGIN, T0 + 1, out.append) == ""
    [stored] = mail.boxes["yan"]
    assert (stored.id, stored.sender, stored.text, stored.stamp) == ("x-1", "x", "hi", stamp(T0))
    assert [a for a in out if isinstance(a, ra.StoreMail)] == [ra.StoreMail("yan", stored)]


def test_a_full_box_refuses_and_leaves_one_notice_for_the_channel() -> None:
    mail = boxes(2)
    out: list[ra.Action] = []
    assert mail.store(Y, unstamped("x-1", "x", "one"), NO_ORIGIN, T0, out.append) == ""
    # past the channel share
    assert mail.store(Y, unstamped("x-2", "x", "two", "channel"), NO_ORIGIN, T0, out.append) != ""
    assert mail.store(Y, unstamped("x-3", "x", "three", "channel"), NO_ORIGIN, T0, out.append) != ""
    kinds = [m.kind for m in mail.boxes["yan"]]
    assert kinds == ["direct", NOTICE_KIND] and mail.boxes["yan"][1].id == "r-1"
    # the notice took the last
    assert mail.store(Y, unstamped("x-4", "x", "four"), NO_ORIGIN, T0, out.append) != ""


def test_a_loaded_message_is_not_stored_twice() -> None:
    kept = {"yan": [StoredMessage("x-1", "x", "hi", stamp(T0), "direct")]}
    mail = boxes(10, kept)
    out: list[ra.Action] = []
    assert mail.store(Y, unstamped("x-1", "x", "hi"), NO_ORIGIN, T0, out.append) == ""
    assert not [a for a in out if isinstance(a, ra.StoreMail)] and len(mail.boxes["yan"]) == 1


def test_the_first_part_of_a_box_is_its_oldest_messages() -> None:
    box = [StoredMessage(f"x-{i}", "x", "hi", "", "direct") for i in range(MAIL_PART_ITEMS + 3)]
    assert first_part(box[:3]) == tuple(box[:3])
    assert first_part(box) == tuple(box[:MAIL_PART_ITEMS])
    assert first_part([]) == ()


def test_taken_messages_leave_the_box_and_the_rest_is_the_next_part() -> None:
    mail = boxes(10)
    out: list[ra.Action] = []
    for i in range(3):
        mail.store(Y, unstamped(f"x-{i}", "x", f"m{i}"), NO_ORIGIN, T0, out.append)
    out.clear()
    take(mail, Y, ["x-0", "x-2", "unknown"], out)
    assert [m.id for m in mail.part(Y)] == ["x-1"]
    assert [a for a in out if isinstance(a, ra.DropMail)] == [ra.DropMail("yan", ("x-0", "x-2"))]
    out.clear()
    take(mail, Y, ["x-0"], out)  # a copy of the same MailTaken: nothing more to delete
    assert not [a for a in out if isinstance(a, ra.DropMail)]
    # room for it again
    assert mail.store(Y, unstamped("x-0", "x", "m0"), NO_ORIGIN, T0, out.append) == ""


def test_a_box_follows_a_rename_and_goes_with_a_release() -> None:
    kept = {
        "old": [StoredMessage("x-1", "x", "first", "", "direct")],
        "new": [StoredMessage("x-0", "x", "before", "", "direct")],
    }
    mail = boxes(10, kept)
    out: list[ra.Action] = []
    mail.moved("old", Record("new", "127.0.0.1", 7001, False, "t"), out.append)
    mail.moved("gone", Record("new", "127.0.0.1", 7001, False, "t"), out.append)  # no box
    assert [m.text for m in mail.boxes["new"]] == ["before", "first"] and "old" not in mail.boxes
    assert [a for a in out if isinstance(a, ra.MoveMail)] == [ra.MoveMail("old", "new")]
    out.clear()
    assert mail.dropped("new", out.append) == 2 and mail.dropped("new", out.append) == 0
    assert out == [ra.DropMail("new", ("x-0", "x-1"))] and not mail.boxes


def test_a_box_whose_mail_was_all_handed_over_is_forgotten() -> None:
    # a registry running for months kept an empty box, and the index of every id it had
    # held, for each name that ever had mail
    mail = boxes(10)
    out: list[ra.Action] = []
    for i in range(3):
        mail.store(Y, unstamped(f"x-{i}", "x", f"m{i}"), NO_ORIGIN, T0, out.append)
    take(mail, Y, ["x-0", "x-1"], out)
    assert [m.id for m in mail.boxes["yan"]] == ["x-2"]
    take(mail, Y, ["x-2"], out)
    assert "yan" not in mail.boxes
    # a new box, indexed anew
    assert mail.store(Y, unstamped("x-3", "x", "again"), NO_ORIGIN, T0, out.append) == ""
    assert [m.id for m in mail.boxes["yan"]] == ["x-3"]
    # nothing is kept of a box once emptied, however many names had mail
    s = services()
    owners = [record(s, f"n{i}", 7000 + i, online=False) for i in range(1000)]
    mail = PostOffice(s, {}, {}, 10)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, owner in enumerate(owners):
            mail.store(owner, unstamped(f"x-{i}", "x", "hi"), NO_ORIGIN, T0, out.append)
            take(mail, owner, [f"x-{i}"], out)
            out.clear()
        gc.collect()  # (what cycles hold)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown / len(owners) < 50  # 428 B a box, its tally kept
