"""A registry that answers late (stopped with SIGSTOP, as a busy or swapping machine would
be): what the peer said had failed but the registry did after all does not leave the two
disagreeing. And what goes wrong with a peer's own files is said before anything else."""

from __future__ import annotations

import os
import signal

import pytest

from .harness import TABLE_UPDATED, WELCOME, ChatEnv


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_registration_done_after_the_peer_gave_up_leaves_it_the_name(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    (hank,) = chat.start_peers("hank")
    hank.kill()  # still online in the table: its address is verified
    os.kill(registry.pid, signal.SIGSTOP)
    try:
        late = chat.restart_peer(hank, wait=False)
        # its start, then SILENT_KEEPALIVES silent periods: over 10 s on a loaded machine
        late.expect_line("[Could not register; is the registry running?]", timeout=45)
        assert late.wait_exit() == 1
    finally:
        os.kill(registry.pid, signal.SIGCONT)
    # The Register never left: it waited for the secure channel's handshake, which the
    # stopped registry never answered. Only the handshakes waited in its socket, and
    # answering them made no session anyone used. hank's key still owns the name.
    again = chat.restart_peer(hank, wait=False)
    again.expect_line(WELCOME)
    again.expect_line(TABLE_UPDATED)


@pytest.mark.slow
@pytest.mark.timeout(40)
def test_a_first_registration_from_a_stopped_registrys_socket_takes_no_name(
    chat: ChatEnv,
) -> None:
    """A first registration comes in a datagram, which anyone can forge: the registry asks
    for it again over TCP. One that waited in a stopped registry's socket, from a peer that
    gave up since, takes the name for no one, and the next start registers."""
    registry = chat.start_registry()
    os.kill(registry.pid, signal.SIGSTOP)
    try:
        hank = chat.start_peer("hank", wait=False)
        hank.expect_line("[Could not register; is the registry running?]")
        assert hank.wait_exit() == 1
    finally:
        os.kill(registry.pid, signal.SIGCONT)
    again = chat.restart_peer(hank, wait=False)
    again.expect_line(WELCOME)
    registry.expect(r"registered hank")
    assert registry.count(r"registered hank") == 1


@pytest.mark.timeout(40)
def test_a_join_said_to_have_failed_but_done_late_is_taken(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    ida, bob = chat.start_peers("ida", "bob")
    bob.send("join late")
    bob.expect(r"\[You joined late")
    os.kill(registry.pid, signal.SIGSTOP)
    try:
        ida.send("join late")
        ida.expect(r"\[Rooms are unavailable while the registry does not answer")
    finally:
        os.kill(registry.pid, signal.SIGCONT)
    ida.expect(r"\[You joined late with bob\]")
    ida.send("hello late room")  # plain text goes to the room only if ida is in it
    bob.expect(r"ida \(in late\): hello late room")


@pytest.mark.timeout(40)
def test_a_peer_whose_token_file_is_damaged_says_so_before_the_registry_answers(
    chat: ChatEnv,
) -> None:
    chat.start_registry()
    (alice,) = chat.start_peers("alice")
    alice.send("/quit")
    assert alice.wait_exit() == 0
    token_file = alice.data_dir / "peers" / "alice.json"
    token_file.write_text("{damaged")
    again = chat.restart_peer(alice, wait=False)
    again.expect_line(
        f"[Could not read your token file {token_file} (it is not what ChatApp writes there); "
        "starting without it.]"
    )
    # its key, kept beside it, still proves the name is its own: the registry answers with
    # the token, kept afresh
    again.expect_line(WELCOME)
    again.expect_line(TABLE_UPDATED)
    assert '"token"' in token_file.read_text()
