"""A flood of a live session's own captured datagrams, tried with real processes: a
sniffer replays what alice sent bob, forged from alice's own address (a raw IP socket) and
from ten others, far faster than a peer's flood gate lets one address through. Bob opens
each replay from alice's address once and drops it; those from other addresses are not
even opened; and alice's messages, sent from the flooded address, still reach bob directly.
Before a live session's data was let past the gate, the flood spent alice's allowance and
her messages were dropped with it."""

from __future__ import annotations

import socket
import threading

import pytest

from secure.channel import DATA

from .capture import Packet, can_capture, capturing
from .harness import HOST, ChatEnv, direct
from .spoofer import _spoofed

pytestmark = pytest.mark.skipif(not can_capture(), reason="needs a raw socket (root)")

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 12)]


def _replay(packets: list[bytes], stop: threading.Event) -> None:
    """Send each of `packets` (whole IP packets) in turn until `stop`, or 400,000 sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        for n in range(400_000):
            if stop.is_set():
                return
            sock.sendto(packets[n % len(packets)], (HOST, 0))


def _alice_to_bob(packets: list[Packet], alice: int, bob: int) -> list[bytes]:
    return [
        p.payload
        for p in packets
        if p.proto == "udp" and p.src[1] == alice and p.dst[1] == bob and p.payload[0] == DATA
    ]


@pytest.mark.timeout(90)
def test_replays_of_a_live_sessions_data_cut_nobody_off(chat: ChatEnv) -> None:
    chat.start_registry(options=["--no-desk-console"])
    alice = chat.start_peer("alice", data_dir=chat.root / "alice")
    bob = chat.start_peer("bob", data_dir=chat.root / "bob", options=["--verbose"])
    alice.expect_line("[bob is online]")
    with capturing() as capture:
        for n in range(3):
            direct(alice, bob, f"before {n}")
    captured = _alice_to_bob(capture.packets, alice.port, bob.port)
    assert captured
    to_bob = (HOST, bob.port)
    forged = [_spoofed(d, (HOST, alice.port), to_bob) for d in captured]
    forged += [_spoofed(d, (host, alice.port), to_bob) for d in captured for host in ATTACKERS]
    stop = threading.Event()
    floods = [threading.Thread(target=_replay, args=(forged, stop)) for _ in range(2)]
    for flood in floods:
        flood.start()
    try:
        bob.expect(r"dropped a datagram from 127\.0\.0\.1:\d+: replayed", timeout=30)
        for n in range(5):
            direct(alice, bob, f"during {n}", timeout=15)
    finally:
        stop.set()
        for flood in floods:
            flood.join(10)
    direct(alice, bob, "after")
