"""Real processes on a network that loses a share of UDP datagrams (and rooms and
the channel at 25% and 30%).

Opt-in (--run-netns): the registry and peers run inside a network namespace of their own
whose loopback drops a random share of UDP datagrams (an nftables `numgen random` rule).
Every message must still arrive exactly once, each sender's in the order typed, live or
from the mailbox. Skipped, with the reason, where namespaces or nftables are not available.
The namespaces are named CHATAPP_NETNS_PREFIX (default `chatapp`) and the process id, so
that runs sharing a machine can keep theirs apart.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from .harness import (
    OFFLINE_BYE,
    SAVED_EVEN_IF_KEPT,
    STAMP,
    TABLE_UPDATED,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    Peer,
    in_namespace,
    line,
)

pytestmark = [pytest.mark.netns, pytest.mark.timeout(240)]


def rules(percent: int) -> str:
    """An nftables table that drops `percent` % of the UDP datagrams coming in."""
    return f"""
table inet chatapp_loss {{
  chain input {{
    type filter hook input priority 0; policy accept;
    meta l4proto udp numgen random mod 100 < {percent} drop
  }}
}}
"""


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)


@pytest.fixture
def namespace() -> Iterator[tuple[str, Callable[[int], None]]]:
    """A network namespace with its loopback up, and what makes it lose a share of UDP
    (its argument, in percent) from then on."""
    if shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("needs iproute2 (ip) and nftables (nft): apt-get install iproute2 nftables")
    name = f"{os.environ.get('CHATAPP_NETNS_PREFIX', 'chatapp')}{os.getpid()}"
    made = _run("ip", "netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here: {made.stderr.strip()}")

    def lose(percent: int) -> None:
        loaded = subprocess.run(
            ["ip", "netns", "exec", name, "nft", "-f", "-"],
            input=rules(percent), capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        if loaded.returncode != 0:
            pytest.skip(f"nftables rules are not permitted here: {loaded.stderr.strip()}")

    try:
        _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name, lose
    finally:
        _run("ip", "netns", "del", name)


@pytest.fixture
def lossy_namespace(namespace: tuple[str, Callable[[int], None]]) -> str:
    """A namespace that loses a fifth of UDP from the start."""
    name, lose = namespace
    lose(20)
    return name


def test_every_message_arrives_exactly_once_with_20_percent_loss(
    chat: ChatEnv, lossy_namespace: str
) -> None:
    chat.prefix = in_namespace(lossy_namespace)
    chat.start_registry(timeout=30)
    peers = chat.start_peers("x", "y", "z")
    # what each receiver is sent, by sender, in the order typed
    texts = {r.name: {s.name: list[str]() for s in peers} for r in peers}
    for round_ in range(5):
        for sender in peers:
            for receiver in peers:
                text = f"lossy-{sender.name}{receiver.name}{round_}"
                texts[receiver.name][sender.name].append(text)
                sender.send(f"send {receiver.name} {text}")
    for receiver in peers:
        pattern = re.compile(rf"^>>> (\w+): (?:{STAMP} )?(lossy-\w+)$")
        got: dict[str, list[str]] = {p.name: [] for p in peers}
        for _ in range(len(peers) * 5):
            said = receiver.expect(pattern, timeout=60)
            got[said[1]].append(said[2])
        # each once, each sender's in the order typed (not sorted: the order is the point)
        assert got == texts[receiver.name], receiver.report()
    # nothing is shown twice afterwards either
    for receiver in peers:
        marker = f"lossy-end-{receiver.name}"
        peers[0].send(f"send {receiver.name} {marker}")
        match = receiver.expect(rf"^>>> \w+: (?:{STAMP} )?(lossy-\S+)$", timeout=60)
        assert match.group(1) == marker


#: Messages typed to a peer offline, and seconds between them: as fast as a person types.
OFFLINE_SAVES = 40
SAVE_GAP = 0.15


def test_saves_for_a_peer_offline_come_from_its_mailbox_in_the_order_typed_with_25_percent_loss(
    chat: ChatEnv, namespace: tuple[str, Callable[[int], None]]
) -> None:
    """Several saves are on their way at once, and one lost and sent again reaches the
    registry after those typed after it: carol, back, shows them all once, in the order
    alice typed them, from her mailbox."""
    name, lose = namespace
    chat.prefix = ["ip", "netns", "exec", name]
    chat.start_registry(timeout=30)
    alice, carol = chat.start_peers("alice", "carol")
    carol.send(f"dereg {carol.name}")
    carol.expect_line(OFFLINE_BYE)
    alice.expect_line(TABLE_UPDATED)
    lose(25)
    typed = [f"save-{k:02d}" for k in range(OFFLINE_SAVES)]
    for text in typed:
        alice.send(f"send {carol.name} {text}")
        time.sleep(SAVE_GAP)
    alice.expect_all([SAVED_EVEN_IF_KEPT] * OFFLINE_SAVES, timeout=120)
    carol.send(f"reg {carol.name}")
    carol.expect_line(YOU_HAVE_MESSAGES, timeout=60)
    got = [carol.expect(rf"^>>> {alice.name}: {STAMP} (save-\d+)$", timeout=60)[1] for _ in typed]
    assert got == typed, carol.report()
    carol.expect_not(rf"^>>> {alice.name}: ", within=2)  # nothing twice


#: Lines each member says in the room, each followed by a channel message.
ROOM_LINES = 40


@pytest.mark.timeout(300)
@pytest.mark.parametrize("percent", [25, 30])
def test_room_lines_and_channel_messages_reach_everyone_once_and_nobody_goes_offline_under_loss(
    chat: ChatEnv, namespace: tuple[str, Callable[[int], None]], percent: int
) -> None:
    """Three members of one room, then `percent` % of UDP lost while each says room lines
    and channel messages: every line and every channel message is shown once to each of
    the others (a channel message live, or from the mailbox), nobody is taken out of the
    room or marked offline, no line typed in it is taken for a command, and nobody is told
    that the registry does not respond."""
    name, lose = namespace
    chat.prefix = ["ip", "netns", "exec", name]
    registry = chat.start_registry(timeout=30)
    peers = chat.start_peers("p0", "p1", "p2")
    for k, peer in enumerate(peers):
        peer.send("join r")
        peer.expect(r"^>>> \[You joined r")
        for earlier in peers[:k]:
            earlier.expect_line(f"[{peer.name} joined r]")
    lose(percent)
    for k in range(ROOM_LINES):
        for peer in peers:
            peer.send(f"r-{peer.name}-{k:03d}")
            peer.send(f"/send_all c-{peer.name}-{k:03d}")
    end = {peer.name: f"r-{peer.name}-end" for peer in peers}
    for peer in peers:
        others = [p for p in peers if p is not peer]
        owed = [
            line(f"{o.name} (in r): r-{o.name}-{k:03d}") for o in others for k in range(ROOM_LINES)
        ]
        owed += [channel(o.name, f"c-{o.name}-{k:03d}") for o in others for k in range(ROOM_LINES)]
        peer.expect_all(owed, timeout=150)
    for peer in peers:  # nothing comes twice after: the last lines come, and only once
        peer.send(end[peer.name])
    for peer in peers:
        others = [p for p in peers if p is not peer]
        peer.expect_all([line(f"{o.name} (in r): {end[o.name]}") for o in others], timeout=60)
    for peer in peers:
        _once_and_in_the_room(peer)
    offline = [t for t in registry.drain() if re.search(r"offline|restarted", t)]
    assert not offline, f"the registry took a member for gone: {offline}"


def channel(sender: str, text: str) -> str:
    """Regex: channel message `text` from `sender`, live or handed over from the mailbox."""
    live = re.escape(f"[Channel_Message {sender}: {text}]")
    kept = rf"Channel_Message {re.escape(sender)}: {STAMP} {re.escape(text)}"
    return rf"^>>> (?:{live}|{kept})$"


def _once_and_in_the_room(peer: Peer) -> None:
    peer.drain()
    said = re.compile(r"^>>> (?:\w+ \(in r\): (r-\S+)|\[?Channel_Message \w+: .*(c-\S+?)\]?)$")
    shown = [m[1] or m[2] for m in map(said.match, peer.transcript) if m]
    twice = sorted({text for text in shown if shown.count(text) > 1})
    assert not twice, f"{peer.name} shows {twice} more than once\n{peer.report()}"
    gone = [t for t in peer.transcript if re.search(r" left r\b|Not a command|no longer in r", t)]
    assert not gone, f"{peer.name}: {gone}\n{peer.report()}"
    unsure = [t for t in peer.transcript if re.search(r"Server not responding|Kept in your", t)]
    assert not unsure, f"{peer.name}: {unsure}\n{peer.report()}"
