"""The harness itself, against a tiny fake child (no ChatApp needed)."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from peer.core.leaving import OFFLINE_BYE
from peer.core.request_ends import SAVED

from .harness import ChatEnv, ChatProc, free_port, line
from .shared_registry import SharedRegistry

# Echoes every input line with the peer prefix; a line "exit N" makes it exit with status N,
# "env" prints two variables, "burst N" prints N numbered lines.
FAKE = r"""
import os, sys
for raw in sys.stdin:
    text = raw.rstrip("\n")
    if text.startswith("exit "):
        print(">>> bye", flush=True)
        sys.exit(int(text.split()[1]))
    if text == "env":
        print(">>> NO_COLOR=%s PYTHONUNBUFFERED=%s" % (
            os.environ.get("NO_COLOR"), os.environ.get("PYTHONUNBUFFERED")), flush=True)
        continue
    if text.startswith("burst "):
        for i in range(int(text.split()[1])):
            print(">>> line %d" % i, flush=True)
        continue
    print(">>> " + text, flush=True)
"""

pytestmark = pytest.mark.timeout(30)


def fake(chat: ChatEnv, label: str = "fake") -> ChatProc:
    return chat.spawn_argv([sys.executable, "-c", FAKE], label)


def test_echo_in_order_and_transcript(chat: ChatEnv) -> None:
    proc = fake(chat)
    for word in ("one", "two", "three"):
        proc.send(word)
    assert proc.expect(r"^>>> (t\w+)$").group(1) == "two"  # skips "one"
    proc.expect_line("three")
    assert proc.transcript == [">>> one", ">>> two", ">>> three"]
    assert proc.count(r"^>>> t") == 2


def test_utf8_and_environment(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("héllo ✓ 日本")
    proc.expect_line("héllo ✓ 日本")
    proc.send("env")
    proc.expect_line("NO_COLOR=1 PYTHONUNBUFFERED=1")


def test_expect_times_out_with_transcript(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("burst 60")
    proc.expect_line("line 59")
    start = time.monotonic()
    with pytest.raises(AssertionError) as info:
        proc.expect(r"never printed", timeout=0.3)
    assert time.monotonic() - start < 3
    message = str(info.value)
    assert "'never printed'" in message
    assert "| >>> line 59" in message and "| >>> line 20" in message
    assert "| >>> line 19\n" not in message  # only the last 40 lines
    assert "running" in message


def test_expect_fails_fast_when_output_ends(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("exit 3")
    start = time.monotonic()
    with pytest.raises(AssertionError) as info:
        proc.expect(r"never printed", timeout=20)
    assert time.monotonic() - start < 5
    assert "output ended" in str(info.value)
    assert "status 3" in str(info.value)
    assert proc.wait_exit(5) == 3
    with pytest.raises(AssertionError):  # and stays failed
        proc.expect(r"bye", timeout=1)


def test_expect_all_any_order(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("b")
    proc.send("noise")
    proc.send("a")
    first, second = proc.expect_all([line("a"), line("b")], timeout=5)
    assert (first.group(0), second.group(0)) == (">>> a", ">>> b")
    proc.send("a")
    with pytest.raises(AssertionError, match="no lines matching"):
        proc.expect_all([line("a"), line("a")], timeout=0.5)  # one line satisfies one pattern


def test_expect_not(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("fine")
    deadline = time.monotonic() + 10  # each look is 0.3 s; the echo may take longer
    while not proc.transcript:
        proc.expect_not(r"bad", within=0.3)
        assert time.monotonic() < deadline, "no echo within 10 s"
    assert proc.transcript == [">>> fine"]
    proc.send("bad")
    with pytest.raises(AssertionError, match="unexpected line"):
        proc.expect_not(r"bad", within=5)


def test_drain_and_collect(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("burst 3")
    proc.expect_line("line 2")
    assert proc.drain() == []
    proc.send("tail")
    proc.close_stdin()
    assert proc.wait_exit(5) == 0
    assert proc.collect(5)[-1] == ">>> tail"


def test_send_after_exit_fails_clearly(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("exit 0")
    assert proc.wait_exit(5) == 0
    with pytest.raises(AssertionError, match="cannot send"):
        for _ in range(50):  # the first writes may still fit in the pipe buffer
            proc.send("x" * 10000)


def test_kill_and_cleanup(chat: ChatEnv) -> None:
    proc = fake(chat)
    proc.send("ping")
    proc.expect_line("ping")
    assert proc.alive
    assert proc.kill() == -9
    assert not proc.alive
    other = fake(chat, "other")
    other.send("ping")
    other.expect_line("ping")
    chat.close()  # what the fixture does at teardown
    assert not other.alive
    assert other.returncode == -9
    assert "--- other" in chat.transcripts()


def test_wait_exit_times_out(chat: ChatEnv) -> None:
    proc = fake(chat)
    with pytest.raises(AssertionError, match="did not exit"):
        proc.wait_exit(0.2)


def test_free_port_is_free_for_tcp_and_udp() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20
    for port in list(ports)[:5]:
        assert 1024 <= port <= 65535
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", port))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", port))


@pytest.mark.timeout(30)
def test_the_shared_registry_keeps_no_name_room_or_mail_of_a_test_after_it(
    shared_chat: ChatEnv, shared_registry: SharedRegistry
) -> None:
    alice, bob = shared_chat.start_peers("alice", "bob")
    assert (alice.name, bob.name) == (shared_chat.named("alice"), shared_chat.named("bob"))
    bob.send(f"dereg {bob.name}")
    bob.expect_line(OFFLINE_BYE)
    alice.expect_line(f"[{bob.name} went offline]")
    alice.send(f"send {bob.name} kept for later")
    alice.expect_line(SAVED)
    alice.send("join lobby")
    alice.expect_line("[You joined lobby (a new room)]")
    port = shared_registry.port
    shared_chat.close()  # as the fixture does when the test ends
    shared_registry.empty()
    assert shared_registry.port == port  # emptied, not replaced by a fresh one
    registry = shared_registry.ready()
    registry.send("who")
    registry.expect(r"^  no names registered yet$")
    registry.send("rooms")
    registry.expect(r"^  no rooms$")
