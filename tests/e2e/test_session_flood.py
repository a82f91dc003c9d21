"""A flood of a live session's own captured datagrams, tried with real processes: a
sniffer replays what alice sent bob, forged from alice's own address (a raw IP socket) and
from ten others, far faster than a peer's flood gate lets one address through. Bob opens
each replay from alice's address once and drops it; those from other addresses are not
even opened; and alice's messages, sent from the flooded address, still reach bob directly.
Before a live session's data was let past the gate, the flood spent alice's allowance and
her messages were dropped with it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from secure.channel import DATA

from .capture import Packet, can_capture, capturing, spoofed_packet
from .harness import HOST, ChatEnv, direct

pytestmark = pytest.mark.skipif(not can_capture(), reason="needs a raw socket (root)")

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 12)]


#: A replayer (run by `_Replayer`): IP packets in hex, one a line, then an empty line; it
#: says it started, and sends them in turn until its stdin closes, or 400,000 are sent.
_REPLAYER = """
import select, socket, sys
packets = [bytes.fromhex(line) for line in iter(sys.stdin.readline, "\\n")]
print("started", flush=True)
with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
    for n in range(400_000):
        if n % 500 == 0 and select.select([sys.stdin], [], [], 0)[0]:
            break
        sock.sendto(packets[n % len(packets)], (sys.argv[1], 0))
"""


class _Replayer:
    """Replays `packets` (whole IP packets) from a process of its own at the lowest
    priority, until `stop`: the attacker's CPU is its own machine's (in the test's own
    process, the replay took a core from the peers it floods, and their messages were
    late on a loaded machine for that alone)."""

    def __init__(self, packets: list[bytes]) -> None:
        self.popen = subprocess.Popen(
            ["nice", "-n", "19", sys.executable, "-c", _REPLAYER, HOST],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.stdin.write("".join(packet.hex() + "\n" for packet in packets) + "\n")
        self.popen.stdin.flush()
        assert self.popen.stdout.readline() == "started\n"

    def stop(self) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.close()
        self.popen.wait(timeout=10)


def _alice_to_bob(packets: list[Packet], alice: int, bob: int) -> list[bytes]:
    return [
        p.payload
        for p in packets
        if p.proto == "udp" and p.src[1] == alice and p.dst[1] == bob and p.payload[0] == DATA
    ]


@pytest.mark.timeout(180)
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
    forged = [spoofed_packet(d, (HOST, alice.port), to_bob) for d in captured]
    forged += [
        spoofed_packet(d, (host, alice.port), to_bob) for d in captured for host in ATTACKERS
    ]
    floods = [_Replayer(forged) for _ in range(2)]
    try:
        bob.expect(r"dropped a datagram from 127\.0\.0\.1:\d+: replayed", timeout=30)
        for n in range(5):  # awaited as long as a loaded machine may need
            direct(alice, bob, f"during {n}", timeout=30)
    finally:
        for flood in floods:
            flood.stop()
    direct(alice, bob, "after")
