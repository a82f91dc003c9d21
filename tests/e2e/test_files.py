"""Files sent peer to peer between real processes: intact, resumed after the receiver is
killed half way, under the name he took since (only the rest is sent again), and badly
named offers refused."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from wire.names import name_key

from .harness import ChatEnv, Peer

MB = 1024 * 1024


def _file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _pair(chat: ChatEnv, tmp_path: Path) -> tuple[Peer, Peer, Path]:
    """alice and bob on the shared registry (`shared_chat`), bob with a downloads folder."""
    downloads = tmp_path / "bob-downloads"
    alice = chat.start_peer("alice")
    bob = chat.start_peer("bob", options=["--downloads", str(downloads)])
    alice.expect(rf"\[{bob.name} is online\]")  # bob's row, which an offer needs
    return alice, bob, downloads


@pytest.mark.timeout(60)
def test_a_20_mb_file_arrives_intact_while_chat_goes_on(
    shared_chat: ChatEnv, tmp_path: Path
) -> None:
    alice, bob, downloads = _pair(shared_chat, tmp_path)
    digest = _file(tmp_path / "big.bin", 20 * MB)
    alice.send(f"/file {bob.name} {tmp_path / 'big.bin'}")
    number = bob.expect(rf"{alice.name} offers big\.bin \(21\.0 MB\): /accept (\d+)", 20).group(1)
    bob.send(f"/accept {number}")
    alice.send(f"send {bob.name} still here")
    bob.expect(rf"{alice.name}: still here")
    bob.expect(
        rf"Received big\.bin from {alice.name} \(21\.0 MB, SHA-256 checked\): saved as (.+)\]", 40
    )
    alice.expect(rf"{bob.name} has big\.bin", 10)
    saved = downloads / "big.bin"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == digest
    assert [p.name for p in downloads.iterdir()] == ["big.bin"]  # no partial file left


@pytest.mark.timeout(60)
def test_a_file_never_lands_over_another(shared_chat: ChatEnv, tmp_path: Path) -> None:
    alice, bob, downloads = _pair(shared_chat, tmp_path)
    downloads.mkdir()
    (downloads / "note.txt").write_text("mine")
    (tmp_path / "note.txt").write_text("theirs")
    alice.send(f"sendfile {bob.name} {tmp_path / 'note.txt'}")
    bob.expect(rf"{alice.name} offers note\.txt")
    bob.send("accept")
    bob.expect(r"saved as .*note \(2\)\.txt\]", 20)
    assert (downloads / "note.txt").read_text() == "mine"
    assert (downloads / "note (2).txt").read_text() == "theirs"


@pytest.mark.timeout(60)
def test_bad_input_gets_one_line_each(shared_chat: ChatEnv, tmp_path: Path) -> None:
    alice, bob, _ = _pair(shared_chat, tmp_path)
    alice.send(f"/file {bob.name} {tmp_path / 'missing.bin'}")
    alice.expect(r"Cannot read .*missing\.bin: ")
    alice.send(f"/file {bob.name} {tmp_path}")
    alice.expect(r"is not a file")
    alice.send(f"/file nobody {tmp_path}")
    alice.expect(r"No one is called nobody")
    bob.send("/accept")
    bob.expect(r"No offer to answer")
    bob.send(f"dereg {bob.name}")
    alice.expect(r"Client table updated")
    (tmp_path / "x.txt").write_text("x")
    alice.send(f"/file {bob.name} {tmp_path / 'x.txt'}")
    alice.expect(rf"{bob.name} is offline: a file goes only to someone online")
    alice.send(f"send {alice.name} still fine")
    alice.expect(rf"{alice.name}: still fine")


@pytest.mark.timeout(90)
def test_the_receiver_killed_half_way_gets_only_the_rest(
    shared_chat: ChatEnv, tmp_path: Path
) -> None:
    """bob renames to robert, accepts, and is killed once half the file is verified; started
    again as robert, he finds the transfer kept (it moved with the name), and alice sends the
    rest only: the offset asked from is at least half the file. (Large enough that the half
    still to come takes longer than the kill: a checkpoint is every 16 MiB.)"""
    alice, bob, downloads = _pair(shared_chat, tmp_path)
    robert = shared_chat.named("robert")
    bob.send(f"/nick {robert}")
    alice.expect(rf"{bob.name} is now known as {robert}")
    size = 64 * MB
    digest = _file(tmp_path / "half.bin", size)
    alice.send(f"/file {robert} {tmp_path / 'half.bin'}")
    number = bob.expect(r"/accept (\d+)", 20).group(1)
    bob.send(f"/accept {number}")
    old_name, kept_under = bob.name, bob.data_dir / "peers"
    # its record on disk says what a restart resumes from (the lines say what was taken)
    record = kept_under / f"{name_key(robert)}.files" / f"{number}.json"
    deadline = time.monotonic() + 40
    while _verified(record) < size // 2:
        assert time.monotonic() < deadline, "half the file was never verified"
        time.sleep(0.02)
    bob.kill()
    bob = shared_chat.start_peer(robert, port=bob.port, data_dir=bob.data_dir, wait=False)
    kept = bob.expect(
        rf"half\.bin from {alice.name}: (\d+)% .* kept; it resumes when {alice.name}", 20
    )
    assert int(kept.group(1)) >= 50
    assert not (kept_under / f"{old_name}.files").exists()
    bob.expect(rf"Resuming half\.bin from {alice.name} from", 30)
    resumed = alice.expect(rf"Resuming half\.bin to {bob.name} from (\d+)% \(([\d.]+) MB", 30)
    assert int(resumed.group(1)) >= 50  # the rest, not the whole, is sent again
    bob.expect(rf"Received half\.bin from {alice.name} .*SHA-256 checked", 60)
    assert hashlib.sha256((downloads / "half.bin").read_bytes()).hexdigest() == digest
    sent_again = size - float(resumed.group(2)) * 1e6
    print(f"bytes sent after the restart: {sent_again:.0f} of {size}")
    assert sent_again <= size * 0.5 + 1e5


@pytest.mark.timeout(60)
def test_the_receiver_renamed_during_a_transfer_is_named_anew_by_the_sender(
    shared_chat: ChatEnv, tmp_path: Path
) -> None:
    """bob is offered a file, renames to robert, then accepts: alice's lines name robert."""
    alice, bob, downloads = _pair(shared_chat, tmp_path)
    digest = _file(tmp_path / "named.bin", MB)
    alice.send(f"/file {bob.name} {tmp_path / 'named.bin'}")
    number = bob.expect(r"/accept (\d+)", 20).group(1)
    robert = shared_chat.named("robert")
    bob.send(f"/nick {robert}")
    alice.expect(rf"{bob.name} is now known as {robert}")
    bob.send(f"/accept {number}")
    alice.expect(rf"\[{robert} accepted named\.bin; sending\.\]", 20)
    alice.expect(rf"\[{robert} has named\.bin", 20)
    assert hashlib.sha256((downloads / "named.bin").read_bytes()).hexdigest() == digest


def _verified(record: Path) -> int:
    """The bytes a transfer's record says are verified (0 while there is none)."""
    try:
        return int(json.loads(record.read_bytes())["verified"])
    except (OSError, ValueError, KeyError):
        return 0
