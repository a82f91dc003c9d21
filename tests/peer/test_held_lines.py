"""A line held for the one its sender names before it survives a kill (docs/GUIDE.md): the
Inbox's Held and Shown records, kept by a real PeerStateFile, give a restarted peer every line it
acked, once each, in the order sent."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peer.adapter import state
from peer.adapter.state import PeerStateFile
from peer.core.actions import Action, Held, Print, Shown
from peer.core.inbox import HELD_MAX, HOLD, Inbox
from peer.core.lifecycle import Event, Lifecycle
from wire.base import IdMaker
from wire.messages import Chat

BOB = ("127.0.0.1", 6002)
KEY = b"b" * 32
SENT = [(f"b-{n}", f"b-{n - 1}" if n else "") for n in range(6)]


def started(log: PeerStateFile, now: float) -> Inbox:
    """A peer's Inbox as a start at `now` makes it, from what `log` kept."""
    life = Lifecycle()
    life.fire(Event.WELCOME)
    inbox = Inbox(life, IdMaker("a"), log.load_seen())
    inbox.start(now)
    return inbox


def carry_out(actions: list[Action], log: PeerStateFile, screen: list[str]) -> None:
    """What the adapter does: records kept, lines shown."""
    for action in actions:
        if isinstance(action, Shown):
            log.add_shown(action)
        elif isinstance(action, Held):
            log.hold(action)
        elif isinstance(action, Print):
            screen.append(action.text)


def came(inbox: Inbox, n: int, now: float, log: PeerStateFile, screen: list[str]) -> None:
    """A datagram of line `n` from bob (or a copy) is taken in."""
    later: list[Action] = []
    line_id, after = SENT[n]
    if key := inbox.accept("bob", line_id):
        chat = Chat(line_id, "bob", "alice", "hi", after=after)
        inbox.show(chat, key, Print(f"bob {line_id}"), now, later.append)
    out: list[Action] = []
    inbox.taken(BOB, KEY, False, later, out.append)
    carry_out(out, log, screen)


@settings(deadline=None)
@given(
    order=st.permutations(range(len(SENT))),
    kills=st.sets(st.integers(0, len(SENT)), max_size=2),
    copies=st.lists(st.integers(0, len(SENT) - 1), max_size=3),
)
def test_every_line_taken_is_shown_once_in_order_through_kills(
    order: list[int], kills: set[int], copies: list[int]
) -> None:
    # the lines come in any order, each once (it is acked), then some copies; the peer is
    # killed between datagrams at `kills`, and started again from its files
    with tempfile.TemporaryDirectory() as folder:
        path, screen = Path(folder), list[str]()
        log = PeerStateFile(path, "alice")
        inbox = started(log, 0.0)
        for step, n in enumerate([*order, *copies]):
            if step in kills:
                log = PeerStateFile(path, "alice")
                inbox = started(log, step)
            came(inbox, n, step, log, screen)
        out: list[Action] = []
        inbox.tick(100.0, out.append)
        carry_out(out, log, screen)
        assert screen == [f"bob {line_id}" for line_id, _ in SENT]


def test_a_line_held_at_a_kill_waits_again_hold_seconds_from_the_start(tmp_path: Path) -> None:
    log, screen = PeerStateFile(tmp_path, "alice"), list[str]()
    came(started(log, 0.0), 1, 0.0, log, screen)  # b-1 waits for b-0; killed
    inbox = started(PeerStateFile(tmp_path, "alice"), 50.0)
    assert inbox.next_wake() == 50.0 + HOLD
    out: list[Action] = []
    inbox.tick(50.0 + HOLD, out.append)  # b-0 never came
    assert out == [Shown((("bob", "b-1"),)), Print("bob b-1")]
    carry_out(out, log, screen)
    assert started(PeerStateFile(tmp_path, "alice"), 60.0).next_wake() is None  # shown: done


def test_a_compacted_or_repaired_file_keeps_the_lines_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "KEEP_SEEN", 6)
    held = Held(("bob", "b-1"), "b-0", Print("bob: hi", "message", "bob"))
    log = PeerStateFile(tmp_path, "alice")
    path = log.seen_path
    log.add_shown(Shown(tuple(("carol", f"c-{n}") for n in range(8))))
    log.hold(held)
    log.add_shown(Shown(tuple(("carol", f"c-{n}") for n in range(8, 13))))  # past 2 * KEEP_SEEN
    kept = [held, *(("carol", f"c-{n}") for n in range(8, 13))]
    assert b"c-0" not in path.read_bytes()  # compacted
    assert PeerStateFile(tmp_path, "alice").load_seen() == kept
    with path.open("ab") as damaged:
        damaged.write(b"not a record\n")
    again = PeerStateFile(tmp_path, "alice")
    assert again.load_seen() == kept and again.problems
    assert PeerStateFile(tmp_path, "alice").load_seen() == kept  # written again without it


def test_a_held_line_shown_since_leaves_its_text_out_of_the_compacted_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a held line is written with its text (up to 16 KiB); once shown, only its pair is
    # needed, and a file of large held lines is compacted by its size, not only its count
    monkeypatch.setattr(state, "SEEN_BYTES", 40_000)
    log = PeerStateFile(tmp_path, "alice")
    for n in range(3):
        log.hold(Held(("bob", f"b-{n}"), "b-x", Print(str(n) * 15_000, "message", "bob")))
        log.add_shown(Shown((("bob", f"b-{n}"),)))
    kept = log.seen_path.read_bytes()  # compacted as the third came: the first two are shown
    assert b"0" * 15_000 not in kept and b"1" * 15_000 not in kept
    assert PeerStateFile(tmp_path, "alice").load_seen() == [("bob", f"b-{n}") for n in range(3)]


def test_lines_still_held_are_not_rewritten_at_every_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a sender naming lines never sent keeps its lines held: past the size, the file is
    # compacted, then again only once it has doubled, not at each of its next holds
    monkeypatch.setattr(state, "SEEN_BYTES", 40_000)
    log = PeerStateFile(tmp_path, "alice")
    compactions = 0
    for n in range(200):
        log.hold(Held(("eve", f"e-{n}"), "e-x", Print("x" * 1_000, "message", "eve")))
        compactions += log.seen.size == 0  # (rewritten: the next append maps the new file)
    assert 1 <= compactions <= 3  # 40 kB, 80 kB, 160 kB: 200 kB held
    assert len(PeerStateFile(tmp_path, "alice").load_seen()) == 200


def test_past_held_max_the_line_held_longest_is_shown_at_once(tmp_path: Path) -> None:
    # a sender naming lines it never sent (or many senders) cannot make lines wait without
    # bound: each past HELD_MAX shows the one held longest, and its own later line after it
    inbox = started(PeerStateFile(tmp_path, "alice"), 0.0)
    out: list[Action] = []
    for n in range(HELD_MAX + 2):
        key = inbox.accept("eve", f"e-{n}")
        assert key is not None
        inbox.show(
            Chat(f"e-{n}", "eve", "alice", "x", after=f"gone-{n}"),
            key,
            Print(f"eve {n}"),
            0.0,
            out.append,
        )
    shown = [action.text for action in out if type(action) is Print]
    assert shown == ["eve 0", "eve 1"]  # the rest still wait, 5 s at most
    late = Chat("e-late", "eve", "alice", "y", after="e-2")
    key = inbox.accept("eve", "e-late")
    assert key is not None
    inbox.show(late, key, Print("eve late"), 0.0, out.append)
    inbox.tick(HOLD, out.append)
    shown = [action.text for action in out if type(action) is Print]
    assert shown[:5] == ["eve 0", "eve 1", "eve 2", "eve late", "eve 3"]
    assert len(shown) == HELD_MAX + 3 and inbox.next_wake() is None
