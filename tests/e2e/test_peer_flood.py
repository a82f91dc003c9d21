"""A peer's flood gate, tried with real processes: four addresses send a peer datagrams
as fast as they can. It drops what each sends beyond its rate before opening it, says so
in its one log of rejections, and direct chat with it goes on."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from .harness import ChatEnv, direct

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 6)]


def _flood(host: str, to: tuple[str, int], stop: threading.Event) -> None:
    """Datagrams of random bytes from `host` to `to`, as fast as one thread sends, until
    `stop` (or 20,000 of them)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        junk = [os.urandom(120) for _ in range(64)]
        for n in range(20_000):
            if stop.is_set():
                return
            sock.sendto(junk[n % 64], to)


@pytest.mark.timeout(90)
def test_a_flooded_peer_drops_the_flood_unopened_and_chat_goes_on(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    alice = chat.start_peer("alice", data_dir=chat.root / "alice")
    bob = chat.start_peer("bob", data_dir=chat.root / "bob", options=["--verbose"])
    alice.expect_line(f"[{bob.name} is online]")  # (the table's push may come after bob's Welcome)
    direct(alice, bob, "before")
    stop = threading.Event()
    floods = [
        threading.Thread(target=_flood, args=(host, ("127.0.0.1", bob.port), stop))
        for host in ATTACKERS
    ]
    for flood in floods:
        flood.start()
    try:
        bob.expect(r"flood from 127\.0\.0\.[2-5]:\d+: dropped", timeout=30)
        direct(alice, bob, "during")
    finally:
        stop.set()
        for flood in floods:
            flood.join(10)
    direct(alice, bob, "after")
