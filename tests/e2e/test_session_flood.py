"""A flood of a live session's own captured datagrams, tried with real processes: a
sniffer replays what alice sent bob, forged from alice's own address (a raw IP socket) and
from ten others, far faster than a peer's flood gate lets one address through. Bob opens
each replay from alice's address once and drops it; those from other addresses are not
even opened; and alice's messages, sent from the flooded address, still reach bob directly.
Before a live session's data was let past the gate, the flood spent alice's allowance and
her messages were dropped with it."""

from __future__ import annotations

import select
import subprocess
import sys

import pytest

from net.drop_log import INTERVAL
from peer.adapter.node import PEER_BURST, PEER_RATE
from secure.channel import DATA

from .capture import Packet, can_capture, capturing, spoofed_packet
from .harness import DEFAULT_TIMEOUT, HOST, ChatEnv, direct

pytestmark = pytest.mark.skipif(not can_capture(), reason="needs a raw socket (root)")

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 12)]
#: What bob logs of a replay from alice's address (--verbose), itself or as the last of an
#: interval's drops.
REPLAY_DROPPED = r"dropped a datagram from 127\.0\.0\.1:\d+: replayed"


#: Replays a second from alice's address: twenty times what a peer's flood gate lets one
#: address send (peer/adapter/node.py), and below what a peer opens in a second, so
#: that the kernel drops none of alice's datagrams for bob's full buffer; and from the
#: others' too, each replay from one of them dropped by its header.
RATE, OTHERS_RATE = int(20 * PEER_RATE), int(10 * PEER_RATE)
#: Replays sent before the test goes on, beyond what a peer's flood gate lets one address
#: send in the time they took: twice its burst. Without the rule for a live session's data
#: the gate would now drop what comes from alice's address, her messages with it.
PAST_THE_GATE = 2 * int(PEER_BURST)
#: A replayer (run by `_Replayer`): IP packets in hex, one a line, then an empty line; it
#: says it started, and sends them in turn, sys.argv[2] a second, a few at a time (a
#: burst, then a pause, would leave the gate's allowance to alice between them), until its
#: stdin closes (or after 10 minutes: it was left behind); it says "past" once it sent
#: sys.argv[3] more than sys.argv[4] a second would have.
_REPLAYER = """
import select, socket, sys, time
packets = [bytes.fromhex(line) for line in iter(sys.stdin.readline, "\\n")]
print("started", flush=True)
rate, past, gate = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
n, start = 0, time.monotonic()
with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
    while (elapsed := time.monotonic() - start) < 600:
        if select.select([sys.stdin], [], [], 0.0002)[0]:  # closed: stop
            break
        for _ in range(int(elapsed * rate) - n):
            n += 1
            sock.sendto(packets[n % len(packets)], (sys.argv[1], 0))
        if past and n >= past + gate * elapsed:
            print("past", flush=True)
            past = 0
"""


class _Replayer:
    """Replays `packets` (whole IP packets) from a process of its own at the lowest
    priority, until `stop`: the attacker's CPU is its own machine's (in the test's own
    process, the replay took a core from the peers it floods, and their messages were
    late on a loaded machine for that alone)."""

    def __init__(self, packets: list[bytes], rate: int) -> None:
        self.popen = subprocess.Popen(
            ["nice", "-n", "19", sys.executable, "-c", _REPLAYER, HOST, str(rate),
             str(PAST_THE_GATE), str(PEER_RATE)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.stdin.write("".join(packet.hex() + "\n" for packet in packets) + "\n")
        self.popen.stdin.flush()
        assert self.popen.stdout.readline() == "started\n"

    def past_the_gate(self) -> None:
        """Return once PAST_THE_GATE replays more than the gate lets through are sent (at
        the lowest priority, a loaded machine may take a while)."""
        assert self.popen.stdout is not None
        assert select.select([self.popen.stdout], [], [], 3 * DEFAULT_TIMEOUT)[0], "no replays"
        assert self.popen.stdout.readline() == "past\n"

    def stop(self) -> None:
        """Kill it: at the lowest priority on a loaded machine, it was seen to get no CPU to
        notice its input closed within 10 s (load 19)."""
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.kill()
        self.popen.wait(timeout=10)
        self.popen.stdin.close()
        self.popen.stdout.close()


def _alice_to_bob(packets: list[Packet], alice: int, bob: int) -> list[bytes]:
    return [
        p.payload
        for p in packets
        if p.proto == "udp" and p.src[1] == alice and p.dst[1] == bob and p.payload[0] == DATA
    ]


@pytest.mark.slow
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
    from_alice = [spoofed_packet(d, (HOST, alice.port), to_bob) for d in captured]
    from_others = [spoofed_packet(d, (h, alice.port), to_bob) for d in captured for h in ATTACKERS]
    # from alice's address alone first, until bob logs one dropped: his log has one line
    # of unopened datagrams an INTERVAL, the first or the last of it, which a flood from
    # other addresses too would as likely take (an earlier drop had taken the first)
    floods = [_Replayer(from_alice, RATE)]
    try:
        bob.expect(REPLAY_DROPPED, timeout=INTERVAL + DEFAULT_TIMEOUT)
        floods[0].past_the_gate()
        floods.append(_Replayer(from_alice + from_others, OTHERS_RATE))
        for n in range(5):  # awaited as long as a loaded machine may need
            direct(alice, bob, f"during {n}", timeout=30)
    finally:
        for flood in floods:
            flood.stop()
    direct(alice, bob, "after")
    bob.send("/quit")
    # alice's data never spent her address's allowance, which the replays were far over
    gated = f"flood from {HOST}:{alice.port}: dropped"
    assert not [text for text in bob.collect() if gated in text]
