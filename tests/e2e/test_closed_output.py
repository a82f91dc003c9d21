"""A closed standard output (`ChatApp ... | head -1`): no internal error, nothing hangs.

A peer or a help-desk client whose reader left leaves as at the end of its input; a
registry goes on serving, says so once on stderr and prints nothing more.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from .harness import (
    CHATAPP,
    HOST,
    SAVED,
    WELCOME,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    free_port,
    mail_line,
)

#: Seconds a process gets to leave once its output is gone.
LEAVE_WITHIN = 10.0


def _popen(chat: ChatEnv, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHATAPP), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=chat.env,
        text=True,
        encoding="utf-8",
        bufsize=1,
    )


def _peer(chat: ChatEnv) -> subprocess.Popen[str]:
    """A peer `pipey` of the registry, its output read here, once it is welcomed."""
    peer = _popen(
        chat, "-c", chat.named("pipey"), HOST, str(chat.registry_port), str(free_port()),
        "--data-dir", str(chat.peer_dir), "--keepalive", "0.5",
    )  # fmt: skip
    assert peer.stdout is not None and peer.stdin is not None
    assert peer.stdout.readline().rstrip("\n") == ">>> " + WELCOME
    # its first meeting with this registry: the key it pinned
    assert "first met, has the key fingerprint" in peer.stdout.readline()
    return peer


def _left_politely(proc: subprocess.Popen[str]) -> None:
    """`proc` exits with status 0 and no internal error."""
    assert proc.wait(LEAVE_WITHIN) == 0
    assert proc.stderr is not None
    assert "Internal error" not in proc.stderr.read()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


@pytest.mark.timeout(30)
def test_a_peer_whose_output_is_closed_leaves_politely(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    peer = _peer(chat)
    try:
        assert peer.stdout is not None and peer.stdin is not None
        peer.stdout.close()  # `| head -1`
        peer.stdin.write("who\n")  # its answer meets the closed pipe; input stays open
        peer.stdin.flush()
        _left_politely(peer)
        registry.expect(rf"deregistered {chat.named('pipey')}\b")
    finally:
        _stop(peer)


@pytest.mark.timeout(30)
def test_a_peer_leaves_as_its_reader_leaves_not_at_its_next_line(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    # found by trying it: `(echo who; sleep 2; echo "send bob hi") | ChatApp -c ... | head
    # -1` sent "hi" to bob: the peer learnt that its reader had left only when it next
    # wrote a line, which came after that line was carried out
    registry = chat.registry
    assert registry is not None
    peer = _peer(chat)
    try:
        assert peer.stdout is not None
        assert peer.stdout.readline().rstrip("\n") == ">>> [Client table updated.]"
        peer.stdout.close()  # `| head -2`; nothing more is written, nor typed
        registry.expect(rf"deregistered {chat.named('pipey')}\b")
        _left_politely(peer)
    finally:
        _stop(peer)


@pytest.mark.timeout(30)
def test_a_registry_whose_output_is_closed_says_so_once_and_serves_on(chat: ChatEnv) -> None:
    port = free_port()
    registry = _popen(chat, "-s", str(port), "--bind", HOST, "--data-dir", str(chat.registry_dir))
    chat.registry_port = port
    try:
        assert registry.stdout is not None and registry.stderr is not None
        assert "listening on" in registry.stdout.readline()
        registry.stdout.close()
        for name in ("ann", "bob", "cat"):  # each logs lines that meet the closed pipe
            peer = chat.start_peer(name)
            peer.close_stdin()
            assert peer.wait_exit(LEAVE_WITHIN) == 0
        registry.send_signal(signal.SIGINT)
        assert registry.wait(LEAVE_WITHIN) == 0
        lines = registry.stderr.read().splitlines()
        assert len(lines) == 1, lines
        assert "standard output is closed" in lines[0]
        assert "goes on serving" in lines[0]
    finally:
        _stop(registry)


@pytest.mark.timeout(30)
def test_a_desk_client_whose_output_is_closed_leaves(chat: ChatEnv) -> None:
    chat.start_registry()
    person = _popen(chat, "-d", HOST, str(chat.registry_port), "--data-dir", str(chat.root / "d"))
    try:
        assert person.stdout is not None and person.stdin is not None
        assert "first met" in person.stdout.readline()  # the registry's key, as it is pinned
        assert "help desk" in person.stdout.readline()
        person.stdout.close()
        person.stdin.write("Ann\n")  # what it says next meets the closed pipe
        person.stdin.flush()
        _left_politely(person)  # it failed with status 1 before
    finally:
        _stop(person)


@pytest.mark.timeout(45)
def test_mail_met_by_a_closed_output_is_kept_for_the_next_start(shared_chat: ChatEnv) -> None:
    # found by trying it: `ChatApp -c dave ... | true` took dave's waiting mail, showed it
    # to nobody, and told the registry it was taken, which deleted it
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    pipey = chat.start_peer("pipey", data_dir=chat.peer_dir)
    pipey.send("/quit")
    assert pipey.wait_exit() == 0
    bob = chat.start_peer("bob")
    bob.send(f"send {pipey.name} kept for you")
    bob.expect_line(SAVED)
    peer = _popen(
        chat, "-c", pipey.name, HOST, str(chat.registry_port), str(free_port()),
        "--data-dir", str(chat.peer_dir),
    )  # fmt: skip
    try:
        assert peer.stdout is not None
        peer.stdout.close()  # `| true`: the reader is gone before anything is shown
        registry.expect(rf"deregistered {pipey.name}\b")
        _left_politely(peer)
    finally:
        _stop(peer)
    again = chat.start_peer("pipey", data_dir=chat.peer_dir, wait=False)
    again.expect_line(YOU_HAVE_MESSAGES)
    again.expect(mail_line(bob.name, "kept for you"))
