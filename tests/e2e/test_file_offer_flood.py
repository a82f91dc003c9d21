"""File offers from hostile peers, with real processes: three keys of their own, registered
at two loopback addresses, offer vic files. Odd names, sizes that lie, bytes past the
size and forged offsets are each refused in one way; a name that fits vic's disk is
received whole; and a flood of offers leaves vic's direct chat answering at once, his
records on disk and lines on screen few."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import HOST, ChatEnv, Peer, line, no_ack, received_by
from .hostile_peer import HostilePeer, digest

from wire.messages import FileNote, FileOffer, NoteState  # isort: skip

#: The hostile keys: two at one address, one at another.
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.2")
#: Offers a second, all keys together, and for how long.
RATE, FLOOD = 2000, 15.0
#: Most pending offers a receiver holds (docs/GUIDE.md, "Files"), and a margin for lines.
HELD_MOST = 64
#: What alice says of a message sent to vic that vic did not ack: the registry saved it.
SAVED_LINE = r"^>>> \[Messages? received by the server"


@pytest.fixture
def vic(chat: ChatEnv, tmp_path: Path) -> Peer:
    """vic, on a registry that takes a peer for online 90 s after it was last heard (the
    hostile peers send no keepalives)."""
    chat.start_registry(options=("--keepalive", "30"))
    downloads = ["--downloads", str(tmp_path / "downloads")]
    return chat.start_peer("vic", data_dir=tmp_path / "vic", options=downloads)


@pytest.fixture
def hostile(chat: ChatEnv, vic: Peer) -> Iterator[list[HostilePeer]]:
    """The hostile peers, registered after vic (their Welcome names him), once vic knows
    their rows (his table vouches for their keys)."""
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    peers: list[HostilePeer] = []
    try:
        for n, host in enumerate(HOSTS):
            peers.append(HostilePeer(server, host, f"mal{n}"))
            vic.expect(rf"{re.escape(peers[-1].name)} is online", 10)
        yield peers
    finally:
        for peer in peers:
            peer.close()


def _records(vic: Peer) -> int:
    folder = vic.data_dir / "peers" / f"{vic.name}.files"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def _rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return 0.0


def _offered(vic: Peer, name: str) -> str:
    """The number vic's line gives the offer of `name`."""
    return vic.expect(rf"offers {re.escape(name)} \(.*/accept (\d+)", 10).group(1)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_hostile_offers_are_refused_once_each_and_names_that_fit_are_received(
    vic: Peer, hostile: list[HostilePeer], tmp_path: Path
) -> None:
    mal, other = hostile[0], hostile[1]
    to = mal.peer(vic.name)
    refused = {
        "../../.bashrc": (10, "a folder"),
        "a\x1b[2Jb": (10, "control character"),
        "minus.bin": (-1, "a bad size (-1)"),
        "huge.bin": (2**62, "over the limit"),
        "CON.txt": (10, "a device"),
    }
    for name, (size, _) in refused.items():
        mal.offer(to, name, size, digest(b"x"))
    notes: list[FileNote] = []
    while len(notes) < len(refused):
        notes += mal.notes(5.0)
    for note, (_, why) in zip(notes, refused.values(), strict=True):
        assert note.state is NoteState.FAILED and why in note.reason, note
    assert "over the limit" not in notes[2].reason
    # vic: the first refusal in full, the rest in one line
    vic.expect(rf"{mal.name} offered a file '\.\./\.\./\.bashrc': refused, a folder", 10)
    vic.expect(r"4 more file offers refused", 15)

    # a name of 250 bytes, and one of 404 (2 bytes a letter) that no disk here holds
    fits, wide = "n" * 246 + ".bin", "é" * 200 + ".txt"
    for name in (fits, wide):
        data = os.urandom(5000)
        mal.offer(to, name, len(data), digest(data))
        served = mal.serve(data)
        vic.send(f"/accept {_offered(vic, name)}")
        saved = vic.expect(r"Received .* saved as (.+)\]", 20).group(1)
        served.join(10)
        assert Path(saved).read_bytes() == data
        assert len(Path(saved).name.encode()) <= 255
    assert Path(saved).name == "é" * 125 + ".txt"
    assert vic.count("too long") == 1  # the shorter name, said once
    assert (tmp_path / "downloads" / fits).exists()

    # more bytes than offered: failed, nothing kept
    data = os.urandom(1000)
    mal.offer(to, "extra.bin", len(data), digest(data))
    served = mal.serve(data + b"more")
    vic.send(f"/accept {_offered(vic, 'extra.bin')}")
    vic.expect(r"extra\.bin from .* failed: the sender sent more bytes than it offered", 20)
    served.join(10)
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == sorted(
        [fits, "é" * 125 + ".txt"]
    )

    # vic offers a file to mal: forged offsets, and another key, are refused
    (tmp_path / "mine.bin").write_bytes(os.urandom(1000))
    vic.send(f"/file {mal.name} {tmp_path / 'mine.bin'}")
    offer = next(m for m, _, _ in mal.sock.receive(10) if isinstance(m, FileOffer))
    at, key = to
    outside = "an offset outside the file"
    for peer, offset, why in ((mal, 1001, outside), (mal, -1, outside), (other, 0, "no such")):
        (answer,) = peer.want(at, key, offer.offer, offset)
        assert isinstance(answer, FileNote) and why in answer.reason, answer
    first = mal.want(at, key, offer.offer, 400)  # the one it was offered to, from byte 400
    assert first and isinstance(first[0], bytes)
    assert (tmp_path / "mine.bin").read_bytes()[400:].startswith(first[0])


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_an_offer_flood_leaves_direct_chat_answering_and_disk_and_screen_bounded(
    chat: ChatEnv, vic: Peer, hostile: list[HostilePeer]
) -> None:
    """Three keys at two addresses offer vic files at RATE a second for FLOOD seconds,
    while alice writes to him every second or so: each message is acked by vic within
    2 s (not left to the registry); vic keeps no record on disk of an offer he did not
    accept, and shows the offers he holds and a few summary lines, not thousands."""
    alice = chat.start_peer("alice")
    vic.expect(rf"{alice.name} is online", 10)
    targets = [peer.peer(vic.name) for peer in hostile]
    for peer, to in zip(hostile, targets, strict=True):  # a session each, before the flood
        peer.offer(to, "hello.bin", 10, digest(b"x"))
        peer.notes(2.0)
    each = int(RATE * FLOOD) // len(hostile)
    sealed = [p.sealed_offers(to, each) for p, to in zip(hostile, targets, strict=True)]
    rss_before = _rss_mb(vic.pid)
    stop = threading.Event()
    sent = [0]

    def flood() -> None:
        start = time.monotonic()
        while not stop.is_set() and (elapsed := time.monotonic() - start) < FLOOD:
            while sent[0] < min(elapsed * RATE, each * len(hostile)):
                n, k = sent[0] % len(hostile), sent[0] // len(hostile)
                hostile[n].sock.sock.sendto(sealed[n][k], targets[n][0])
                sent[0] += 1
            time.sleep(0.005)

    thread = threading.Thread(target=flood, daemon=True)
    vic.drain()
    lines_before = len(vic.transcript)
    thread.start()
    waits: list[float] = []  # until acked by vic (inf: it was not, the registry took it)
    most_records = 0
    acked = line(received_by(vic.name))
    try:
        while thread.is_alive():
            time.sleep(1.0)
            began = time.monotonic()
            alice.send(f"send {vic.name} during {len(waits)}")
            said = alice.expect(f"{acked}|{line(no_ack(vic.name))}|{SAVED_LINE}", 20)
            by_vic = re.match(acked, said.group(0)) is not None
            waits.append(time.monotonic() - began if by_vic else float("inf"))
            most_records = max(most_records, _records(vic))
    finally:
        stop.set()
        thread.join(20)
    time.sleep(2.0)
    shown = vic.drain()
    rss_after = _rss_mb(vic.pid)
    said = f"{sent[0]} offers sent; acks after {[round(w, 2) for w in waits]} s; "
    said += f"{len(shown)} lines shown (of {lines_before} before); {most_records} records; "
    said += f"RSS {rss_before:.0f} -> {rss_after:.0f} MB"
    print(said)
    assert sent[0] >= RATE * FLOOD / 2, said  # the flood was one
    assert max(waits) < 2.0, said
    assert most_records <= HELD_MOST and _records(vic) <= HELD_MOST, said
    assert len(shown) < HELD_MOST + 20, said
    assert any("more file offers refused" in text for text in shown), said
    assert rss_after - rss_before < 50, said
