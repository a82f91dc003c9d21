"""One registry per data directory, one peer per name and data directory: a second start
is refused with one clear line and exit status 1, and leaves the first alone (two
registries moved each other's live mailbox lines aside; a second peer took the name from
the first, which was never told). The lock goes with the process, however it ends."""

from __future__ import annotations

import shutil

import pytest

from peer.core.direct import RECEIVED_BY
from peer.core.request_ends import SERVER_NOT_RESPONDING

from .harness import WELCOME, ChatEnv, free_port


@pytest.mark.timeout(40)
def test_a_second_registry_on_the_same_data_directory_is_refused(chat: ChatEnv) -> None:
    first = chat.start_registry()
    text = "\n".join(chat.refused_registry("second registry"))
    assert f"is in use by another running registry (pid {first.popen.pid})" in text, text
    assert "Traceback" not in text
    assert first.alive
    alice = chat.start_peer("alice")  # the first serves on
    alice.send("who")
    alice.expect("alice")
    first.kill()  # kill -9: the kernel lets go of the lock
    chat.start_registry()


@pytest.mark.timeout(40)
def test_a_second_peer_of_the_same_name_and_data_directory_is_refused(
    shared_chat: ChatEnv,
) -> None:
    chat = shared_chat
    first = chat.start_peer("alice")
    second = chat.start_peer("Alice", wait=False)
    second.close_stdin()
    assert second.wait_exit(10) == 1
    text = "\n".join(second.collect(5))
    said = f"[{second.name} is already running with the data directory {chat.peer_dir} "
    assert said in text, text
    assert f"(pid {first.popen.pid})" in text and "Traceback" not in text
    assert WELCOME not in text
    first.send(f"send {first.name} still mine")
    first.expect_line(RECEIVED_BY.format(first.name))
    # another name in the same directory starts, and so does alice once the first is gone
    chat.start_peer("bob")
    first.kill()
    chat.restart_peer(first)  # welcomed: the kernel let go of the lock


@pytest.mark.timeout(60)
def test_a_refused_second_start_says_why_first_and_alone(chat: ChatEnv) -> None:
    # found by trying it: a second alice said how many messages she had kept, as if they
    # were to be sent, before saying that she could not start
    registry = chat.start_registry()
    first = chat.start_peer("alice")
    registry.kill()
    first.send("send_all kept-while-away")
    first.expect_line(SERVER_NOT_RESPONDING)  # (send_all's)
    first.expect(r"Kept in your outbox")
    copy = chat.root / "copied"
    shutil.copytree(chat.peer_dir, copy, ignore=shutil.ignore_patterns("*.lock"))
    # the same directory: refused by its lock, before anything else is said
    second = chat.start_peer("alice", wait=False)
    second.close_stdin()
    assert second.wait_exit(10) == 1
    [said] = second.collect(5)
    assert said.startswith(">>> [alice is already running with the data directory "), said
    # a copy of it elsewhere: refused by the registry, and only that is said
    chat.start_registry()
    first.expect(r"Kept message received by Server", timeout=50)
    third = chat.start_peer("alice", data_dir=copy, wait=False)  # its input left open
    assert third.wait_exit(10) == 1
    said_by_third = third.collect(5)
    assert len(said_by_third) == 1 and "The name alice is in use" in said_by_third[0], said_by_third
    assert (
        b"kept-while-away" in (copy / "peers" / "alice.sending").read_bytes()
    )  # for its next start


@pytest.mark.timeout(30)
def test_a_peer_whose_data_directory_is_a_file_does_not_start(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    plain = chat.root / "a-file"
    plain.write_text("not a directory\n")
    peer = chat.spawn(
        "-c", chat.named("carol"), "127.0.0.1", str(chat.registry_port), str(free_port()),
        "--data-dir", str(plain), label="peer carol",
    )  # fmt: skip
    peer.close_stdin()
    assert peer.wait_exit(10) == 1
    text = "\n".join(peer.collect(5))
    assert f"[Cannot use the data directory {plain}" in text, text
    assert WELCOME not in text and "Traceback" not in text


@pytest.mark.timeout(30)
def test_a_peer_that_cannot_keep_its_token_does_not_register(shared_chat: ChatEnv) -> None:
    chat, dave = shared_chat, shared_chat.named("dave")
    (chat.peer_dir / "peers" / f"{dave}.json.tmp").mkdir(parents=True)  # its write fails
    peer = chat.start_peer(dave, wait=False)
    peer.close_stdin()
    assert peer.wait_exit(10) == 1
    text = "\n".join(peer.collect(5))
    assert f"[Could not keep your token for {dave} (" in text, text
    assert "not registering" in text, text
    assert WELCOME not in text and "Traceback" not in text
    (chat.peer_dir / "peers" / f"{dave}.json.tmp").rmdir()
    chat.start_peer(dave)  # the name was not lost
