"""The table's pushes to a peer whose acks are late (registry/core/table_watch.py): one push
in flight, the rows changed since the version it acked sent together, a copy sent again
being the newest state, and the wait following the peer's round trip. Driven by `now`."""

from __future__ import annotations

import itertools

from msgspec.structs import replace

from registry.core import actions as ra
from registry.core.dispatch import RegistryCore
from registry.core.table_feed import COALESCE
from registry.core.table_watch import LOG_UPDATES, TableWatch
from tests.registry.core_helpers import T0, X, core, register, run_until, sends
from wire.messages import Ack, Acks, Alive, Entry, Keepalive, Register, TableUpdate
from wire.reliable import ATTEMPTS, TIMEOUT
from wire.version import WIRE_VERSION

ANN = X
X2 = ("127.0.0.2", 6001)
PORTS = iter(range(7100, 7200))


def _join(reg: RegistryCore, name: str, now: float) -> list[ra.Action]:
    """`name` registers from an address of its own at `now`: what the registry does."""
    port = next(PORTS)
    register = Register(f"{name}-reg", name, port, "", "", WIRE_VERSION)
    return reg.receive(register, ("127.0.0.9", port), now)


def _updates_to(out: list[ra.Action], addr: tuple[str, int]) -> list[TableUpdate]:
    return [m for to, m in sends(out) if to == addr and isinstance(m, TableUpdate) and m.version]


def _names(updates: list[TableUpdate]) -> list[str]:
    return [row.name for update in updates for row in update.entries]


def test_changes_made_while_a_push_is_unacked_go_with_its_ack_as_one_update() -> None:
    reg = core()
    register(reg, "ann", ANN)
    [first] = _updates_to(_join(reg, "bob", T0 + 1), ANN)
    assert _names([first]) == ["bob"]
    # carol joins while ann's ack is late: nothing is pushed to ann on its own
    assert _updates_to(_join(reg, "carol", T0 + 1.2), ANN) == []
    assert _updates_to(_join(reg, "dave", T0 + 1.2 + 2 * COALESCE), ANN) == []
    out = reg.receive(Ack("ann-1", first.id), ANN, T0 + 1.4)
    [caught_up] = _updates_to(out, ANN)
    assert caught_up.since == first.version and caught_up.version == reg.table.version
    assert _names([caught_up]) == ["carol", "dave"]


def _alive(
    reg: RegistryCore, name: str, token: str, addr: tuple[str, int], now: float, held: int = -1
) -> int:
    """The table version `name`, its table at `held`, is told in answer to its keepalive."""
    out = reg.receive(Keepalive(f"{name}-k{now}", name, token, held), addr, now)
    [alive] = [m for to, m in sends(out) if to == addr and isinstance(m, Alive)]
    return alive.version


def test_a_keepalive_is_told_the_version_acked_while_a_push_is_on_its_way() -> None:
    reg = core()
    token = register(reg, "ann", ANN).token
    [first] = _updates_to(_join(reg, "bob", T0 + 1), ANN)
    _join(reg, "carol", T0 + 1.2)
    # the push, then the ack's catch-up, bring bob and carol: ann is not sent to fetch them
    assert _alive(reg, "ann", token, ANN, T0 + 1.3) == first.version - 1
    out = reg.receive(Ack("ann-1", first.id), ANN, T0 + 1.4)
    [caught_up] = _updates_to(out, ANN)
    assert _alive(reg, "ann", token, ANN, T0 + 1.5) == first.version
    reg.receive(Ack("ann-2", caught_up.id), ANN, T0 + 1.6)
    assert _alive(reg, "ann", token, ANN, T0 + 1.7) == reg.table.version


def test_a_keepalive_after_its_push_was_given_up_brings_what_the_peer_missed() -> None:
    reg = core()
    token = register(reg, "ann", ANN).token
    [first] = _updates_to(_join(reg, "bob", T0 + 1), ANN)
    told = []
    for second in range(2, 40, 2):  # ann keeps alive, and acks no table push
        run_until(reg, T0 + second)
        told.append(_alive(reg, "ann", token, ANN, T0 + second))
    # every copy sent, the push is given up: not saying its version, ann is told the newest
    assert told[0] == first.version - 1 and told[-1] == reg.table.version == first.version
    out = reg.receive(Keepalive("ann-k", "ann", token, first.version - 1), ANN, T0 + 41)
    [again] = _updates_to(out, ANN)  # saying it: pushed what it missed, told its own
    assert _names([again]) == ["bob"] and again.start() == first.version - 1
    assert [m.version for _, m in sends(out) if isinstance(m, Alive)] == [first.version - 1]


def test_a_copy_sent_again_is_the_newest_state_not_the_stale_update() -> None:
    reg = core()
    register(reg, "ann", ANN)
    [first] = _updates_to(_join(reg, "bob", T0 + 1), ANN)
    _join(reg, "carol", T0 + 1.2)
    again = _updates_to(run_until(reg, T0 + 1 + TIMEOUT), ANN)
    # one copy, from the version ann acked (its Welcome's), with every row since
    assert len(again) == 1 and again[0].since == first.version - 1
    assert _names(again) == ["bob", "carol"] and again[0].version == reg.table.version


def test_a_peer_that_answers_slowly_is_not_sent_copies_of_what_is_only_late() -> None:
    reg = core()
    register(reg, "ann", ANN)
    acks: list[tuple[float, str]] = []  # ann acks every update 2 s after it is sent
    sent_at: list[float] = []

    def took(out: list[ra.Action], now: float) -> None:
        for update in _updates_to(out, ANN):
            sent_at.append(now)
            acks.append((now + 2, update.id))

    for i in range(8):  # a peer joins every 20 s; the others never answer (they go offline)
        start = T0 + 20 * (i + 1)
        took(_join(reg, f"p{i}", start), start)
        while True:
            wake, ack = reg.next_wake(), min(acks, default=None)
            now = min(at for at in (wake, ack and ack[0]) if at is not None)
            if now > start + 19.9:
                break
            if ack is not None and ack[0] == now:
                acks.remove(ack)
                took(reg.receive(Ack(f"ann-{now}", ack[1]), ANN, now), now)
            else:
                took(reg.tick(now), now)
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    # before the round trip was measured, copies went at TIMEOUT; once it was, none: every
    # push waits for the ack of the one before (a fixed timeout copies each push thrice)
    assert min(gaps[:3]) < 2
    later = [gap for at, gap in zip(sent_at[1:], gaps, strict=True) if at > T0 + 80]
    assert later and min(later) >= 2


def test_a_push_never_acked_is_given_up_after_its_copies_its_waits_doubled() -> None:
    reg = core()
    register(reg, "ann", ANN)
    _join(reg, "bob", T0 + 1)
    out: list[ra.Action] = []
    times = []
    while (wake := reg.next_wake()) is not None and wake <= T0 + 40:
        step = reg.tick(wake)
        if _updates_to(step, ANN):
            times.append(wake - (T0 + 1))
        out += step
    assert len(times) == ATTEMPTS - 1  # the copies after the first
    waits = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    # (within the rounding of a clock's large readings)
    assert waits == sorted(waits) and waits[0] >= TIMEOUT - 1e-6 and waits[-1] > waits[0]
    # given up: the next change is pushed at once, with what ann never acked
    assert _names(_updates_to(_join(reg, "cy", T0 + 40), ANN)) == ["bob", "cy"]


def test_acks_of_a_datagram_of_pushes_move_the_version_on() -> None:
    reg = core()
    register(reg, "ann", ANN)
    [update] = _updates_to(_join(reg, "bob", T0 + 1), ANN)
    reg.receive(Acks("ann-1", (update.id,)), ANN, T0 + 1.01)
    assert reg.table.version == update.version
    assert _updates_to(run_until(reg, T0 + 10), ANN) == []  # acked: no copy


Sent = list[tuple[list[tuple[str, int]], TableUpdate]]


class Watched:
    """A TableWatch over a table at `version`; what it sends is kept, as (addresses,
    update), until `took` hands it over."""

    def __init__(self) -> None:
        ids = itertools.count()
        self.version = 0
        self.watch = TableWatch(lambda: f"r-{next(ids)}", lambda _: b"k", lambda: self.version)
        self.sent: Sent = []

    def out(self, send: ra.Send | ra.SendMany) -> None:
        addrs = [send.addr] if isinstance(send, ra.Send) else list(send.addrs)
        self.sent.append((addrs, send.message))

    def took(self) -> Sent:
        sent, self.sent = self.sent, []
        return sent

    def push(self, update: TableUpdate, addrs: list[tuple[str, int]], now: float) -> Sent:
        """`update`, the table's newest version, pushed to `addrs`: what was sent."""
        self.version = update.version
        self.watch.push([update], addrs, now, self.out)
        return self.took()

    def heard(self, addr: tuple[str, int], held: int, now: float) -> Sent:
        self.watch.heard(addr, held, now, self.out)
        return self.took()

    def resume(self, addrs: list[tuple[str, int]], now: float) -> Sent:
        self.watch.resume(addrs, now, self.out)
        return self.took()

    def due(self, now: float) -> Sent:
        self.watch.due(now, self.out)
        return self.took()


def test_a_peer_sent_the_table_is_pushed_from_its_version_on() -> None:
    at, rows = _watch_at(4)
    at.watch.welcomed(ANN, "ann-key", 1)
    at.watch.welcomed(X2, "", 1)
    at.watch.sent_table(ANN, "ann-key", 3)  # ann fetched the table at 3 (its Welcome had no rows)
    newest = TableUpdate("u-5", 5, (rows[0],))
    by_addr = {addr: update for addrs, update in at.push(newest, [ANN, X2], T0) for addr in addrs}
    assert by_addr[X2].start() == 1 and len(by_addr[X2].entries) == 4  # rows since 1
    assert by_addr[ANN].start() == 3 and [e.name for e in by_addr[ANN].entries] == ["p4", "p0"]


def test_a_newcomer_fetching_the_table_is_pushed_nothing_until_it_has_it() -> None:
    at, _ = _watch_at(1)
    at.watch.welcomed(ANN, "ann-key", 1, fetching=True)  # a Welcome into a big table: no rows
    update = TableUpdate("u-2", 2, (Entry("bob", "127.0.0.9", 7002, True),))
    assert at.push(update, [ANN], T0) == []  # the table it fetches has this
    at.watch.sent_table(("127.0.0.1", 40000), "ann-key", 2)  # over TCP: another port
    later = TableUpdate("u-3", 3, (Entry("carol", "127.0.0.9", 7003, True),))
    assert at.push(later, [ANN], T0 + 1) == [([ANN], later)]


def test_a_push_overtaken_by_the_table_sent_is_not_sent_again() -> None:
    at, _ = _watch_at(1)
    at.watch.welcomed(ANN, "ann-key", 1)
    update = TableUpdate("u-2", 2, (Entry("bob", "127.0.0.9", 7002, True),))
    assert at.push(update, [ANN], T0) == [([ANN], update)]
    at.watch.sent_table(ANN, "ann-key", 2)  # it asked for the table meanwhile
    assert at.due(T0 + 10) == [] and len(at.watch.in_flight) == 0


def _watch_at(version: int) -> tuple[Watched, list[Entry]]:
    """A watch that pushed `version` updates, a row each, to nobody."""
    at = Watched()
    rows = [Entry(f"p{v}", "127.0.0.9", 7000 + v, True) for v in range(version + 1)]
    for v in range(1, version + 1):
        at.push(TableUpdate(f"u-{v}", v, (rows[v],)), [], T0)
    return at, rows


def test_a_peer_held_is_pushed_nothing_then_every_row_changed_since_at_its_release() -> None:
    at, rows = _watch_at(2)
    at.watch.welcomed(ANN, "ann-key", 2)
    at.watch.held = held = {ANN, X2}  # X2 not watched yet: taken to hold 2 (a restart)
    for version in (3, 4):
        update = TableUpdate(f"u-{version}", version, (rows[version - 2],))
        assert at.push(update, [ANN, X2], T0) == []
    held.clear()
    [(to, caught_up)] = at.resume([ANN, X2], T0 + 1)
    assert to == [ANN, X2] and (caught_up.start(), caught_up.version) == (2, 4)
    assert caught_up.entries == (rows[1], rows[2])
    assert at.resume([ANN], T0 + 2) == []  # (released once)
    assert at.due(T0 + 1 + TIMEOUT) == [([ANN], caught_up), ([X2], caught_up)]


def test_a_push_in_flight_to_a_peer_held_is_not_sent_again_its_release_sends_it_anew() -> None:
    at, rows = _watch_at(2)
    at.watch.welcomed(ANN, "ann-key", 1)
    [(_, first)] = at.push(TableUpdate("u-3", 3, (rows[0],)), [ANN], T0)  # (a catch-up from 1)
    at.watch.held = held = {ANN}
    assert at.due(T0 + 10) == []  # held: not sent again
    assert not at.watch.acked([first.id], ANN, T0 + 10.5, at.out) and at.took() == []  # (over)
    held.clear()
    [(_, again)] = at.resume([ANN], T0 + 11)
    assert again.start() == 1  # from the version it acked
    assert at.watch.acked([again.id], ANN, T0 + 11.1, at.out) and at.took() == []
    assert at.watch.told(ANN, 3) == 3


def test_a_peer_of_another_registry_is_sent_each_update_once_and_never_watched() -> None:
    at, rows = _watch_at(2)
    at.watch.handed_over = {X2}
    at.watch.welcomed(X2, "x2-key", 2)
    at.watch.held = held = {X2}
    update = TableUpdate("u-3", 3, (rows[0],))
    assert at.push(update, [X2], T0) == [([X2], update)]
    held.clear()
    assert at.resume([X2], T0) == [] and len(at.watch.in_flight) == 0
    assert at.due(T0 + 60) == [] and at.watch.flying(X2) == ()


def test_a_catch_up_holds_each_row_as_last_changed_in_the_order_of_that_change() -> None:
    at, _ = _watch_at(4)
    bob, carol = Entry("bob", "127.0.0.2", 6002, True), Entry("carol", "127.0.0.3", 6003, True)
    at.watch.welcomed(ANN, "ann-key", 4)
    at.watch.held = held = {ANN}
    at.push(TableUpdate("u-5", 5, (bob,)), [ANN], T0)
    at.push(TableUpdate("u-6", 6, (carol, replace(bob, online=False))), [ANN], T0)
    # a rename of carol to dave: the removal, then the new row, kept together at the end
    gone, dave = replace(carol, port=0, online=False), replace(carol, name="dave")
    at.push(TableUpdate("u-7", 7, (gone, dave)), [ANN], T0)
    held.clear()
    [(_, caught_up)] = at.resume([ANN], T0)
    assert caught_up.entries == (replace(bob, online=False), gone, dave)
    assert (caught_up.start(), caught_up.version) == (4, 7)


def test_a_peer_behind_what_the_log_reaches_is_told_the_newest_version() -> None:
    # told past its table, the peer takes the whole table (peer/core/table_news.py)
    version = LOG_UPDATES + 2
    at, _ = _watch_at(version)  # versions 3 to 514 kept
    assert at.heard(ANN, 1, T0) == [] and at.watch.told(ANN, version) == version
    (to, caught_up), *_ = at.heard(X2, 2, T0)  # (a row each: 16 datagrams)
    assert to == [X2] and caught_up.start() == 2 and at.watch.told(X2, version) == 2
    at.push(TableUpdate("u-900", 900, ()), [], T0)  # a jump: the log starts again
    assert at.heard(ANN, version, T0) == [] and at.watch.told(ANN, 900) == 900
    assert at.heard(("127.0.0.5", 1), 899, T0) != []


def test_a_keepalive_saying_no_version_or_ours_is_pushed_nothing() -> None:
    at, _ = _watch_at(3)
    at.watch.welcomed(ANN, "ann-key", 1)
    assert at.heard(ANN, -1, T0) == [] and at.heard(X2, 3, T0) == []
    assert at.heard(ANN, 9, T0) == []  # ahead of us: another table's numbering
    assert at.watch.told(ANN, 3) == 3


def test_a_late_keepalive_saying_an_older_version_moves_nothing_back() -> None:
    at, _ = _watch_at(6)
    at.watch.welcomed(ANN, "ann-key", 4)
    [(_, caught_up)] = at.heard(ANN, 4, T0)  # (5 and 6, in one update)
    assert at.watch.acked([caught_up.id], ANN, T0 + 0.1, at.out)
    # the keepalive that said 4, sent before that push, arrives after its ack
    assert at.heard(ANN, 4, T0 + 0.2) == [] and at.watch.told(ANN, 6) == 6
