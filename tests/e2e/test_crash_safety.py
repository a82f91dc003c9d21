"""The registry killed with SIGKILL at random moments during a stream of save requests
(or of channel lines), then restarted on the same data directory: every acknowledged
message is handed over, none twice (real processes, real faults). A peer killed while it
holds messages (in its outbox, or awaiting a direct message's ack) sends them after its
restart."""

from __future__ import annotations

import os
import random
import re
import signal
import time
from pathlib import Path

import pytest

from .harness import (
    HOST,
    OFFLINE_BYE,
    POSTED_EVEN_IF_KEPT,
    SAVED_EVEN_IF_KEPT,
    STAMP,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    Peer,
    kept_saved,
)
from .process import ChatProc
from .secure_socket import SecureSocket

from peer.core.inbox import HELD_MAX  # isort: skip  (harness puts the repository on sys.path)
from secure.channel import SecureChannel  # isort: skip
from wire import messages  # isort: skip
from wire.keys import key_from_text  # isort: skip
from wire.version import WIRE_VERSION  # isort: skip

COUNT = 30


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed", [1, 2])
def test_registry_killed_during_saves_loses_and_repeats_nothing(chat: ChatEnv, seed: int) -> None:
    rng = random.Random(seed)
    registry = chat.start_registry()
    x, y = chat.start_peers("x", "y")
    y.send("dereg y")
    y.expect_line(OFFLINE_BYE)
    x.expect(r"Client table updated")
    texts = [f"crash{seed}-{i:02d}" for i in range(COUNT)]
    _send_through_kills(chat, registry, x, [f"send y {t}" for t in texts], SAVED_EVEN_IF_KEPT, rng)
    y.send("reg y")
    y.expect_line(YOU_HAVE_MESSAGES, timeout=15)
    shown = []
    pattern = re.compile(rf"^>>> x: {STAMP} (crash{seed}-\d\d)$")
    while len(shown) < COUNT:
        match = y.expect(pattern, timeout=15)
        shown.append(match.group(1))
    assert sorted(shown) == texts, "a saved message was lost or shown twice"
    # nothing more arrives afterwards: a fresh direct message is the next thing y shows
    x.send("send y after-the-crashes")
    y.expect(r"^>>> x: ")
    assert y.transcript[-1] == ">>> x: after-the-crashes"


@pytest.mark.timeout(120)
def test_registry_killed_during_channel_lines_shows_each_once_in_order(chat: ChatEnv) -> None:
    # A line reaches the members online before its copy for the offline one is durable: a
    # registry killed in between never acked it, so it is posted again; each shows once.
    rng = random.Random(3)
    registry = chat.start_registry()
    x, y, z = chat.start_peers("x", "y", "z")
    y.send("dereg y")
    y.expect_line(OFFLINE_BYE)
    texts = [f"line-{i:02d}" for i in range(COUNT)]
    _send_through_kills(
        chat, registry, x, [f"send_all {t}" for t in texts], POSTED_EVEN_IF_KEPT, rng
    )
    x.send("send_all the-last")
    y.send("reg y")
    # live to z; to y from its mailbox (the last line, maybe live too)
    shown = rf"^>>> \[?Channel_Message x: (?:{STAMP} )?(\S+?)\]?$"
    for peer in (z, y):
        lines = [peer.expect(shown, timeout=20).group(1) for _ in range(COUNT + 1)]
        assert lines == [*texts, "the-last"], f"{peer.name}: a line lost, shown twice or late"


def _send_through_kills(
    chat: ChatEnv, registry: ChatProc, x: Peer, commands: list[str], answer: str, rng: random.Random
) -> None:
    """`x` types each of `commands`; at three random moments, once 0-2 more of them were
    answered (`answer`), the registry is killed and started again. Returns when every one
    was answered: those that failed wait in x's outbox and go again."""
    kills = sorted(rng.sample(range(1, len(commands)), 3))
    answered = 0
    for i, command in enumerate(commands):
        x.send(command)
        if i in kills:
            for _ in range(rng.randint(0, 2)):
                if answered < i:
                    x.expect(answer, timeout=20)
                    answered += 1
            registry.kill()
            registry = chat.start_registry()
    while answered < len(commands):
        x.expect(answer, timeout=30)
        answered += 1


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_peer_killed_while_holding_its_outbox_sends_it_after_restart(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    x, y = chat.start_peers("x", "y")
    y.send("dereg y")
    y.expect_line(OFFLINE_BYE)
    registry.kill()
    x.send("send y held-through-two-crashes")
    x.expect(r"Kept in your outbox", timeout=15)
    x.kill()
    chat.start_registry()
    x = chat.restart_peer(x)
    x.expect_line(kept_saved("y", "held-through-two-crashes"), timeout=15)
    y.send("reg y")
    y.expect_line(YOU_HAVE_MESSAGES, timeout=15)
    y.expect(rf"^>>> x: {STAMP} held-through-two-crashes$")


def wait_for_bytes(path: Path, data: bytes, timeout: float) -> None:
    """Return once `path` holds `data` (another process writes it; nothing to await but
    the file)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and data in path.read_bytes()):
        assert time.monotonic() < deadline, f"{path} did not hold {data!r} within {timeout} s"
        time.sleep(0.01)


@pytest.mark.timeout(60)
def test_a_peer_whose_terminal_closes_right_after_a_send_delivers_it_after_restart(
    shared_chat: ChatEnv,
) -> None:
    x, y = shared_chat.start_peers("x", "y")
    y.kill()  # every table still says y is online: x sends to it directly, unanswered
    x.send(f"send {y.name} typed-just-before-the-terminal-closed")
    x.send("who")  # answered once the send is on its way, well before its first retry
    x.expect(rf"^>>>\s+{re.escape(y.name)}\s+online")
    os.kill(x.pid, signal.SIGHUP)
    assert x.wait_exit() == 128 + signal.SIGHUP
    kept = (x.data_dir / "peers" / f"{x.name}.sending").read_bytes()
    assert b"typed-just-before-the-terminal-closed" in kept
    x = shared_chat.restart_peer(x)
    saved_then_shown_to_y(shared_chat, x, y, "typed-just-before-the-terminal-closed")


def test_a_peer_killed_while_a_direct_message_awaits_its_ack_delivers_it_after_restart(
    shared_chat: ChatEnv,
) -> None:
    x, y = shared_chat.start_peers("x", "y")
    y.kill()  # gone without a word: every table still says y is online
    x.send(f"send {y.name} sent-while-x-was-dying")
    # unanswered after its first try, it is kept durably as its save; x dies during the
    # retries
    sending = x.data_dir / "peers" / f"{x.name}.sending"
    wait_for_bytes(sending, b'+{"t":"SaveMessage"', timeout=10)
    x.kill()
    x = shared_chat.restart_peer(x)
    saved_then_shown_to_y(shared_chat, x, y, "sent-while-x-was-dying")


def saved_then_shown_to_y(chat: ChatEnv, x: Peer, y: Peer, text: str) -> None:
    """x, restarted, says that its kept message to y (which was killed) is saved at the
    registry; y, restarted, shows it, stamped, once."""
    x.expect_line(kept_saved(y.name, text), timeout=15)
    y = chat.restart_peer(y)
    y.expect(rf"^>>> {re.escape(x.name)}: {STAMP} {re.escape(text)}$")


def kill_before_any_retry(peer: Peer) -> None:
    """SIGKILL `peer` once the line typed last is on its way (`who` is answered after it,
    from memory)."""
    peer.send("who")
    peer.expect(r"^>>>\s+\S+\s+(?:online|offline)")
    peer.kill()


@pytest.mark.timeout(60)
def test_a_peer_killed_right_after_a_direct_message_delivers_it_after_restart(
    shared_chat: ChatEnv,
) -> None:
    x, y = shared_chat.start_peers("x", "y")
    y.kill()  # every table still says y is online: x sends to it directly, unanswered
    x.send(f"send {y.name} typed-a-moment-before-the-kill")
    kill_before_any_retry(x)
    x = shared_chat.restart_peer(x)
    assert any("1 message kept from your last session" in line for line in x.transcript)
    saved_then_shown_to_y(shared_chat, x, y, "typed-a-moment-before-the-kill")


@pytest.mark.timeout(60)
def test_a_peer_killed_right_after_send_all_to_an_absent_registry_sends_it_after_restart(
    chat: ChatEnv,
) -> None:
    registry = chat.start_registry()
    x, y = chat.start_peers("x", "y")
    registry.kill()
    x.send("send_all said-while-the-registry-was-down")
    kill_before_any_retry(x)  # long before the five tries end and it goes to the outbox
    chat.start_registry()
    x = chat.restart_peer(x)
    assert any("1 message kept from your last session" in line for line in x.transcript)
    y.expect(r"^>>> \[Channel_Message x: said-while-the-registry-was-down\]$", timeout=15)


def _registered_beside(chat: ChatEnv, s: SecureSocket, y: Peer) -> str:
    """Register `s` as a stand-in sender with a key of its own, knowing `y`'s key, once `y`
    shows it online: its name."""
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    s.learn_key(server)
    name = chat.named("s")
    register = messages.Register(f"{name}-r", name, s.address[1], "", "", WIRE_VERSION)
    welcome = s.ask(register, server, messages.Welcome)
    y_key = key_from_text(next(e.key for e in welcome.entries if e.name == y.name))
    assert y_key is not None
    s.keys[(HOST, y.port)] = y_key
    y.expect_line(f"[{name} is online]")
    return name


@pytest.mark.timeout(60)
def test_a_line_held_for_the_one_before_it_is_shown_after_its_receiver_is_killed(
    shared_chat: ChatEnv,
) -> None:
    # s, a stand-in sender, sends its second line before its first: y takes it, acks it and
    # holds it for the first; y is killed, started again, and then the first comes
    chat = shared_chat
    y = chat.start_peer("y")
    at_y = (HOST, y.port)
    with SecureSocket() as s:
        name = _registered_beside(chat, s, y)
        second = messages.Chat(f"{name}-2", name, y.name, "the-second", after=f"{name}-1")
        assert s.ask(second, at_y, messages.Ack).reply_to == second.id
        y.kill()
        y = chat.restart_peer(y)
        s.channel = SecureChannel(s.channel.static)  # y's sessions died with it
        first = messages.Chat(f"{name}-1", name, y.name, "the-first")
        assert s.ask(first, at_y, messages.Ack).reply_to == first.id
        y.expect(rf"^>>> {re.escape(name)}: the-first$")
        y.expect(rf"^>>> {re.escape(name)}: the-second$", timeout=10)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_sender_naming_lines_it_never_sent_makes_a_peer_hold_held_max_at_most(
    shared_chat: ChatEnv,
) -> None:
    # s, a stand-in sender with a key of its own, sends HELD_MAX + 1 lines, each after one it
    # never sends: y acks and holds each, and shows the first as the last is held, so before
    # the line s sends next (which waits for nothing), not 5 s later
    chat = shared_chat
    y = chat.start_peer("y")
    at_y = (HOST, y.port)
    with SecureSocket() as s:
        name = _registered_beside(chat, s, y)
        lines = [
            messages.Chat(f"{name}-{n}", name, y.name, f"held-{n}", after=f"{name}-x{n}")
            for n in range(HELD_MAX + 1)
        ]
        for group in (lines[n : n + 250] for n in range(0, len(lines), 250)):
            unacked = {line.id: line for line in group}
            for _ in range(20):  # as a sender would: again, until acked (a budget may drop some)
                for line in unacked.values():
                    s.send(line, at_y)
                for got, _, _ in s.receive(2.0):
                    if isinstance(got, messages.Ack | messages.Acks):
                        for acked in (
                            got.replies if isinstance(got, messages.Acks) else [got.reply_to]
                        ):
                            unacked.pop(acked, None)
                if not unacked:
                    break
            assert not unacked
        last = messages.Chat(f"{name}-last", name, y.name, "the-last")
        assert s.ask(last, at_y, messages.Ack).reply_to == last.id
        y.expect(rf"^>>> {re.escape(name)}: the-last$")
        said = [line for line in y.transcript if line.startswith(f">>> {name}: ")]
        held = [f">>> {name}: held-{n}" for n in range(HELD_MAX + 1)]
        # held-0 went past HELD_MAX (and more, were a slow machine 5 s sending), then the-last
        assert len(said) >= 2 and said == [*held[: len(said) - 1], f">>> {name}: the-last"]
        y.expect(rf"^>>> {re.escape(name)}: held-{HELD_MAX}$", timeout=15)  # the rest: after 5 s
