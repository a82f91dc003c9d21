"""The receiver's pull against a sender on loopback that keeps to the protocol, or not: the
file's bytes come as data records; a sender that sends more than it offered, other bytes
than the file, a message in their place, or records altered on the way, never gets a file
named; one that stops half way leaves the verified bytes for a resume. Each sender has its
own key and its own address."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peer.adapter.files import pull as pull_module
from peer.adapter.files.pull import Puller
from peer.core.files.transfer import Outcome, Role, Transfer, TransferPhase
from secure.noise import public_bytes
from secure.stream import RECORD_DATA, SecureStream
from wire.messages import Chat, FileNote, FileWant, NoteState

#: Bytes between two checkpoints here (16 MiB in the program): the file holds three.
CHECKPOINT = 1024 * 1024
FILE = os.urandom(3 * CHECKPOINT + 300_000)
#: What a sender does once asked: (its session, the FileWant) -> the bytes to write.
Behaviour = Callable[[SecureStream, FileWant], bytes]


@pytest.fixture(autouse=True)
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pull_module, "CHECKPOINT", CHECKPOINT)


def honest(stream: SecureStream, want: FileWant) -> bytes:
    return bytes(stream.seal_data(FILE[want.offset :]))


def more_than_offered(stream: SecureStream, want: FileWant) -> bytes:
    return bytes(stream.seal_data(FILE[want.offset :] + b"extra"))


def other_bytes(stream: SecureStream, want: FileWant) -> bytes:
    return bytes(stream.seal_data(bytes(len(FILE) - want.offset)))


def a_chat_instead(stream: SecureStream, want: FileWant) -> bytes:
    stream.send(Chat("c-1", "mallory", "bob", "hello"))
    return stream.output()


def a_refusal(stream: SecureStream, want: FileWant) -> bytes:
    stream.send(FileNote("n-1", "alice", want.offer, NoteState.FAILED, "it changed"))
    return stream.output()


def altered_on_the_way(stream: SecureStream, want: FileWant) -> bytes:
    sealed = bytearray(stream.seal_data(FILE[want.offset :]))
    sealed[100_000] ^= 1  # a bit flipped inside the second record
    return bytes(sealed)


def half_then_gone(stream: SecureStream, want: FileWant) -> bytes:
    return bytes(stream.seal_data(FILE[want.offset : want.offset + CHECKPOINT + 100_000]))


async def pull(
    behaviour: Behaviour, host: str, folder: Path, verified: int = 0, taken: list[int] | None = None
) -> tuple[tuple[Outcome, str], Transfer, list[int], list[FileWant]]:
    """Pull FILE from a sender at `host` that acts as `behaviour` says; (how it ended,
    the transfer, the progress told, what was asked); the bytes told taken go to `taken`."""
    sender_key = X25519PrivateKey.generate()
    asked: list[FileWant] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream = SecureStream(sender_key)
        while not asked:
            for message in stream.feed(await reader.read(65536)):
                assert isinstance(message, FileWant)
                asked.append(message)
            writer.write(stream.output())
        writer.write(behaviour(stream, asked[0]))
        with contextlib.suppress(ConnectionError):  # the receiver may close first
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, host, 0)
    port = server.sockets[0].getsockname()[1]
    partial = folder / "f.partial"
    if verified:
        partial.write_bytes(FILE[:verified])
    transfer = Transfer(
        1, Role.RECEIVE, "o-1", "alice", "key", "f.bin", len(FILE),
        hashlib.sha256(FILE).hexdigest(), str(partial), TransferPhase.MOVING, verified,
    )  # fmt: skip
    told: list[int] = []

    took = taken if taken is not None else []

    async def tell(at: int, kept: bool) -> None:
        (told if kept else took).append(at)

    puller = Puller(transfer, X25519PrivateKey.generate(), tell, lambda note: None)
    async with server:
        ended = await puller.run((host, port), public_bytes(sender_key), "w-1")
    return ended, transfer, told, asked


def run(
    work: Awaitable[tuple[tuple[Outcome, str], Transfer, list[int], list[FileWant]]],
) -> tuple[tuple[Outcome, str], Transfer, list[int], list[FileWant]]:
    return asyncio.run(asyncio.wait_for(work, 20))


@pytest.mark.timeout(30)
def test_an_honest_sender_gives_the_file_checked_and_named(tmp_path: Path) -> None:
    (outcome, saved), _, told, _ = run(pull(honest, "127.0.0.2", tmp_path))
    assert outcome is Outcome.DONE and Path(saved).read_bytes() == FILE
    assert CHECKPOINT <= told[0] < len(FILE) == told[-1]  # a checkpoint, then the end
    assert not (tmp_path / "f.partial").exists()


@pytest.mark.timeout(30)
def test_the_bytes_taken_are_told_at_each_read_size_between_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file smaller than a checkpoint is verified once, at its end; what a progress line
    says is told as it comes, READ_SIZE apart at least."""
    monkeypatch.setattr(pull_module, "CHECKPOINT", 16 * CHECKPOINT)
    taken: list[int] = []
    (outcome, _), _, told, _ = run(pull(honest, "127.0.0.2", tmp_path, taken=taken))
    assert outcome is Outcome.DONE and told == [len(FILE)]
    assert taken and taken[-1] < len(FILE)
    assert all(b - a >= pull_module.READ_SIZE for a, b in zip([0, *taken], taken, strict=False))


@pytest.mark.timeout(30)
def test_a_resume_asks_from_the_verified_bytes_and_checks_the_whole_file(tmp_path: Path) -> None:
    (outcome, saved), _, _, asked = run(pull(honest, "127.0.0.3", tmp_path, verified=200_000))
    assert asked[0].offset == 200_000
    assert outcome is Outcome.DONE and Path(saved).read_bytes() == FILE


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("behaviour", "host", "why"),
    [
        (more_than_offered, "127.0.0.4", "more bytes than it offered"),
        (other_bytes, "127.0.0.5", "SHA-256 differs"),
        (a_chat_instead, "127.0.0.6", "something other than the file"),
    ],
)
def test_a_sender_that_breaks_the_protocol_gets_no_file_named(
    behaviour: Behaviour, host: str, why: str, tmp_path: Path
) -> None:
    (outcome, said), _, _, _ = run(pull(behaviour, host, tmp_path))
    assert outcome is Outcome.BROKEN and why in said
    assert [p.name for p in tmp_path.iterdir()] in ([], ["f.partial"])  # nothing named


@pytest.mark.timeout(30)
def test_a_record_altered_on_the_way_breaks_the_connection_and_is_never_written(
    tmp_path: Path,
) -> None:
    (outcome, said), _, told, _ = run(pull(altered_on_the_way, "127.0.0.7", tmp_path))
    assert outcome is Outcome.DROPPED and "does not open" in said
    kept = (tmp_path / "f.partial").read_bytes()  # the record before it, at most
    assert kept in (b"", FILE[:RECORD_DATA]) and told in ([], [len(kept)])


@pytest.mark.timeout(30)
def test_a_refusal_in_place_of_the_bytes_is_told(tmp_path: Path) -> None:
    (outcome, said), _, _, _ = run(pull(a_refusal, "127.0.0.8", tmp_path))
    assert outcome is Outcome.DROPPED and said == "it changed"


@pytest.mark.timeout(30)
def test_a_sender_gone_half_way_leaves_the_verified_bytes_for_a_resume(tmp_path: Path) -> None:
    (outcome, said), _, told, _ = run(pull(half_then_gone, "127.0.0.9", tmp_path))
    assert outcome is Outcome.DROPPED and "closed the connection" in said
    assert told and told[-1] >= CHECKPOINT  # verified: synced, and said
    kept = (tmp_path / "f.partial").read_bytes()
    assert kept[: told[-1]] == FILE[: told[-1]]
