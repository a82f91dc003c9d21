"""A restarted registry tells the peers it counts online that it is back (Restarted), a window
of them at a time (registry/core/restart_news.py): each is a handshake, and thousands begun
at once left most of them unanswered until their next keepalive."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from registry.core.restart_news import ROUNDS, WINDOW
from registry.core.table import Record, Table
from tests.registry.core_helpers import ROUND, T0, core, run_until, sends
from wire.keys import key_text
from wire.messages import (
    Ack,
    Acks,
    ChannelMessage,
    ChannelPost,
    Entry,
    Register,
    Rename,
    Restarted,
    TableRequest,
    TableUpdate,
)
from wire.version import WIRE_VERSION

#: Peers the restarted registry counts online: more than two windows.
ONLINE = 2 * WINDOW + 50


def addr_of(i: int) -> tuple[str, int]:
    return (f"127.0.{1 + i // 250}.{1 + i % 250}", 7000)


def restarted(
    unpushed: tuple[str, ...] = (),
) -> tuple[RegistryCore, list[tuple[tuple[str, int], Restarted]]]:
    """A registry started from a table of ONLINE peers online (each at an address of its
    own, with a key of its own), the rows of `unpushed` held back when it stopped; the
    Restarted its start sends."""
    reg, out = started(unpushed)
    return reg, told(out)


def started(
    unpushed: tuple[str, ...] = (), handed: int = 0, sealed: int = 0
) -> tuple[RegistryCore, list[ra.Action]]:
    """`restarted`'s registry, and every action of its start; the first `handed` peers
    reached through another registry, the next `sealed` with a session held."""
    table = Table()
    for i in range(ONLINE):
        name = f"p{i:03}"
        key = key_text(i.to_bytes(32, "big"))
        table.records[name] = Record(name, *addr_of(i), True, "t", key=key, last_seen=T0)
    for name in unpushed:
        table.unpushed[name] = table.records[name].entry()
    reg = core(table=table)
    sessions = {addr_of(i) for i in range(handed, handed + sealed)}
    reg.hand_over({addr_of(i) for i in range(handed)}, sessions.__contains__)
    return reg, list(reg.start(T0))


def told(actions: list[ra.Action]) -> list[tuple[tuple[str, int], Restarted]]:
    return [(a, m) for a, m in sends(actions) if isinstance(m, Restarted)]


def test_a_window_of_peers_is_told_at_once_and_each_ack_tells_the_next() -> None:
    reg, first = restarted()
    assert [a for a, _ in first] == [addr_of(i) for i in range(WINDOW)]
    news = first[0][1]
    out = reg.receive(Ack("a-1", news.id), addr_of(0), T0 + 0.1)
    assert told(out) == [(addr_of(WINDOW), news)]  # one acked, one more told
    out = reg.receive(Ack("a-2", news.id), addr_of(0), T0 + 0.2)  # (a copy: nothing more)
    assert told(out) == []


def test_peers_reached_without_a_handshake_are_told_at_once_and_only_the_rest_wait() -> None:
    # a new lead of a service: its own peers hold sessions, the others' come through them
    reg, out = started(handed=60, sealed=60)
    first = told(out)
    assert [a for a, _ in first] == [addr_of(i) for i in range(120 + WINDOW)]
    news = first[0][1]
    assert told(reg.receive(Ack("a-1", news.id), addr_of(0), T0 + 0.1)) == []  # (no room made)
    out = reg.receive(Ack("a-2", news.id), addr_of(120), T0 + 0.2)
    assert told(out) == [(addr_of(120 + WINDOW), news)]


def test_every_peer_online_is_told_though_none_acks() -> None:
    reg, first = restarted()
    out = run_until(reg, T0 + ROUNDS * 3 * ROUND + 1)
    firsts = {a for a, _ in first} | {a for a, _ in told(out)}
    assert firsts == {addr_of(i) for i in range(ONLINE)}
    # (each told in ROUNDS rounds at most, and then no more)
    assert reg.next_wake() is None or not told(run_until(reg, T0 + 600))


def test_peers_that_ack_are_not_told_again() -> None:
    reg, first = restarted()
    acked: set[tuple[str, int]] = set()
    pending = list(first)
    now = T0
    while pending:
        now += 0.01
        addr, news = pending.pop(0)
        if addr not in acked:
            acked.add(addr)
            pending += told(reg.receive(Ack(f"a{len(acked)}", news.id), addr, now))
    assert acked == {addr_of(i) for i in range(ONLINE)}
    assert not told(run_until(reg, now + 3 * ROUND))


def test_the_rows_held_back_when_it_stopped_go_to_each_peer_with_the_news() -> None:
    reg, out = started(unpushed=("p001",))
    updates = [(a, m) for a, m in sends(out) if isinstance(m, TableUpdate)]
    assert [a for a, _ in updates] == [addr_of(i) for i in range(WINDOW)]  # not all at once
    [(_, update)] = updates[:1]
    assert update.entries == (Entry("p001", *addr_of(1), True, key_text((1).to_bytes(32, "big"))),)
    news = told(out)[0][1]
    later = sends(reg.receive(Ack("a-1", news.id), addr_of(0), T0 + 0.1))
    assert [type(m) for a, m in later if a == addr_of(WINDOW)] == [Restarted, TableUpdate]


def test_a_registration_meanwhile_is_pushed_to_the_peers_told_and_to_the_others_with_it() -> None:
    reg, first = restarted()
    news = first[0][1]
    newcomer = Register("n-1", "newcomer", 7000, "", "", WIRE_VERSION)
    out = reg.receive(newcomer, ("127.0.9.9", 7000), T0 + 0.1, key=bytes(range(32)))
    out += run_until(reg, T0 + 0.2)  # (the change, held back a moment, pushed)
    pushed = {a for a, m in sends(out) if isinstance(m, TableUpdate)}
    told_first = {addr_of(i) for i in range(WINDOW)}
    assert pushed == {*told_first, ("127.0.9.9", 7000)}  # not the peers still to be told
    later = sends(reg.receive(Ack("a-1", news.id), addr_of(0), T0 + 0.3))
    to_next = [m for a, m in later if a == addr_of(WINDOW)]
    assert [type(m) for m in to_next] == [Restarted, TableUpdate]
    assert [e.name for e in to_next[1].entries] == ["newcomer"]  # type: ignore[attr-defined]


def test_a_new_list_of_registries_is_told_a_window_at_a_time() -> None:
    reg, first = restarted()
    everyone_acks(reg, first, T0 + 0.1)
    out = reg.new_registries(("10.0.0.1:5000", "10.0.0.2:5000"), T0 + 1)
    news = told(out)
    assert [a for a, _ in news] == [addr_of(i) for i in range(WINDOW)]
    assert news[0][1].registries == ("10.0.0.1:5000", "10.0.0.2:5000")
    later = told(reg.receive(Ack("b-1", news[0][1].id), addr_of(0), T0 + 1.1))
    assert later == [(addr_of(WINDOW), news[0][1])]


def test_the_peers_of_a_registry_gone_wait_for_a_window_and_the_others_hear_at_once() -> None:
    # a relay gone: its peers, reached from here now, need a handshake each; the peers of
    # the others hear the list through them
    reg, first = restarted()
    everyone_acks(reg, first, T0 + 0.1)
    gone = [addr_of(i) for i in range(WINDOW + 10)]
    reg.hand_over({addr_of(i) for i in range(ONLINE)} - set(gone), lambda addr: False)
    news = told(reg.new_registries(("10.0.0.1:5000",), T0 + 1))
    assert [a for a, _ in news] == [addr_of(i) for i in range(WINDOW + 10, ONLINE)] + gone[:WINDOW]
    out = run_until(reg, T0 + 1 + 3 * ROUND)
    assert {a for a, _ in told(out)} >= set(gone[WINDOW:])


def test_a_peer_being_told_hears_the_newer_news_after() -> None:
    reg, first = restarted()
    out = reg.new_registries(("10.0.0.1:5000",), T0 + 0.1)
    assert told(out) == []  # the first window is still being told the start's news
    newer = told(reg.receive(Ack("a-1", first[0][1].id), addr_of(0), T0 + 0.2))
    assert [m.registries for _, m in newer] == [("10.0.0.1:5000",)]
    out = []
    for addr, news in first[1:] + newer:  # (the rest of the first window ack)
        out += told(reg.receive(Ack(f"b-{addr}", news.id), addr, T0 + 0.3))
    out += told(run_until(reg, T0 + 3 * ROUND))
    assert (addr_of(0), newer[0][1]) in newer + out  # peer 0 hears the newer news too


def everyone_acks(
    reg: RegistryCore, first: list[tuple[tuple[str, int], Restarted]], now: float
) -> None:
    """Every peer acks the news it is told, until all are told."""
    pending = list(first)
    while pending:
        addr, news = pending.pop(0)
        pending += told(reg.receive(Ack(f"e-{addr}", news.id), addr, now))


def test_a_peer_told_late_is_pushed_every_row_changed_meanwhile_in_one_update() -> None:
    reg, first = restarted()
    held_at = reg.table.version
    # five registrations, pushed one by one to the peers told, all within the first round
    for i in range(5):
        now = T0 + 0.12 * ROUND * (i + 1)
        newcomer = Register(f"n-{i}", f"new{i}", 7000, "", "", WIRE_VERSION)
        reg.receive(newcomer, (f"127.0.9.{i + 1}", 7000), now, key=bytes([i + 1]) * 32)
        run_until(reg, now + 0.08 * ROUND)
    later = sends(reg.receive(Ack("a-1", first[0][1].id), addr_of(0), T0 + 0.8 * ROUND))
    to_next = [m for a, m in later if a == addr_of(WINDOW)]
    assert [type(m) for m in to_next] == [Restarted, TableUpdate]
    update = to_next[1]
    assert isinstance(update, TableUpdate) and update.start() == held_at
    assert [e.name for e in update.entries] == [f"new{i}" for i in range(5)]


def test_a_peer_that_starts_afresh_while_told_makes_room_at_once() -> None:
    reg, first = restarted()
    again = Register("s2-1", "p000", addr_of(0)[1], "", "", WIRE_VERSION)
    out = reg.receive(again, addr_of(0), T0 + 0.1, key=(0).to_bytes(32, "big"))
    # its news is dropped with what was pushed to it: the next peer is told now, not later
    assert (addr_of(WINDOW), first[0][1]) in told(out)


KEY0 = (0).to_bytes(32, "big")  # p000's


def test_a_peer_renamed_while_told_hears_the_newer_news_and_every_change_after() -> None:
    """p000 renames while its news is on its way and newer news waits behind it: the news
    follows the peer at its address, whatever it is called, so its table updates (held
    until it is told) go on."""
    reg, first = restarted()
    reg.new_registries(("10.0.0.1:5000",), T0 + 0.1)
    renamed = reg.receive(Rename("r-1", "p000", "t", "renamed"), addr_of(0), T0 + 0.15, key=KEY0)
    assert [type(m) for _, m in sends(renamed)][:1] == [Ack]
    newer = told(reg.receive(Ack("a-1", first[0][1].id), addr_of(0), T0 + 0.2))
    assert [(a, m.registries) for a, m in newer] == [(addr_of(0), ("10.0.0.1:5000",))]
    reg.receive(Ack("a-2", newer[0][1].id), addr_of(0), T0 + 0.3)
    newcomer = Register("n-1", "newcomer", 7000, "", "", WIRE_VERSION)
    out = reg.receive(newcomer, ("127.0.9.1", 7000), T0 + 0.4, key=bytes([1]) * 32)
    out += run_until(reg, T0 + 0.4 + ROUND)
    updates = [m for a, m in sends(out) if a == addr_of(0) and isinstance(m, TableUpdate)]
    assert any(e.name == "newcomer" for m in updates for e in m.entries)


def test_a_peer_waiting_its_turn_that_posts_is_told_at_once_and_another_key_is_not() -> None:
    """Its posts wait for the news (dropped until it acks): heard with its own key, a
    session is held, so it need not wait for a place in the window."""
    reg, first = restarted()
    last, other = ONLINE - 1, ONLINE - 2
    assert {addr_of(last), addr_of(other)}.isdisjoint(a for a, _ in first)
    post = ChannelPost("p-1", f"p{other:03}", "t", "hello")
    out = reg.receive(post, addr_of(other), T0 + 0.1, key=b"\x99" * 32)  # not its key
    assert told(out) == [] and not sends(out)
    post = ChannelPost("p-2", f"p{last:03}", "t", "hello")
    out = reg.receive(post, addr_of(last), T0 + 0.2, key=last.to_bytes(32, "big"))
    assert told(out) == [(addr_of(last), first[0][1])]
    assert not [m for _, m in sends(out) if isinstance(m, ChannelMessage)]  # dropped meanwhile


def test_a_peer_told_two_news_that_acks_both_in_one_datagram_is_heard_again() -> None:
    """Being told the start's news in the window, a peer that posts is told the newer news
    at once: its acks of both, in one Acks, end what holds its posts back."""
    reg, first = restarted()
    addr, news = first[0]
    key = (0).to_bytes(32, "big")
    reg.new_registries(("10.0.0.1:5000",), T0 + 0.1)
    out = reg.receive(ChannelPost("p-1", "p000", "t", "hello"), addr, T0 + 0.2, key=key)
    told_now = [m for a, m in told(out) if a == addr]
    assert told_now and not [m for _, m in sends(out) if isinstance(m, ChannelMessage)]
    reg.receive(Acks("a-1", (news.id, *(m.id for m in told_now))), addr, T0 + 0.3, key=key)
    out = reg.receive(ChannelPost("p-2", "p000", "t", "again"), addr, T0 + 0.4, key=key)
    assert {m.text for _, m in sends(out) if isinstance(m, ChannelMessage)} == {"again"}


def test_a_peer_waiting_its_turn_that_registers_again_is_pushed_nothing_before_its_news() -> None:
    """Its Welcome and the table it fetches start its pushes afresh, but its table updates
    still wait for the news: a change meanwhile reaches it only after its Restarted."""
    reg, first = restarted()
    last = ONLINE - 1
    again = Register("s2-1", f"p{last:03}", addr_of(last)[1], "", "", WIRE_VERSION)
    key = last.to_bytes(32, "big")
    out = reg.receive(again, addr_of(last), T0 + 0.1, key=key)
    out += reg.receive(TableRequest("s2-2"), addr_of(last), T0 + 0.11, key=key)  # (too big)
    newcomer = Register("n-1", "newcomer", 7000, "", "", WIRE_VERSION)
    out += reg.receive(newcomer, ("127.0.9.9", 7000), T0 + 0.2, key=bytes(range(32)))
    out += run_until(reg, T0 + 0.3)
    assert not [m for a, m in sends(out) if a == addr_of(last) and isinstance(m, TableUpdate)]
    pending, to_it = list(first), []
    while pending:  # (the window acks until its turn comes)
        addr, news = pending.pop(0)
        out = reg.receive(Ack(f"e-{addr}", news.id), addr, T0 + 0.4)
        to_it += [m for a, m in sends(out) if a == addr_of(last)]
        pending += told(out)
    assert [type(m) for m in to_it] == [Restarted, TableUpdate]
