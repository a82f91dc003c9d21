"""First contact under attack, with real processes (docs/SECURITY.md, "First contact"): a
spoofer floods a new peer with key answers of its own keys, forged from the registry's
address and sent from others, and plays the registry to whatever reaches one of its keys.
A peer with a password sends it to no key but the registry's."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Iterator

import pytest

from .capture import can_capture
from .harness import (
    CHATAPP,
    HOST,
    PASSWORD_CHECK_WAIT,
    TABLE_UPDATED,
    WELCOME,
    ChatEnv,
    ChatProc,
    Peer,
    free_port,
)
from .spoofer import Spoofer

pytestmark = [
    pytest.mark.skipif(not can_capture(), reason="needs raw sockets (root)"),
    pytest.mark.timeout(70),  # a start with a password waits PASSWORD_CHECK_WAIT at most
]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def attacked(chat: ChatEnv) -> Iterator[tuple[ChatEnv, Spoofer, int, ChatProc]]:
    """A registry, stopped (SIGSTOP: slower than the spoofer, as a busy or distant one is,
    until the test lets it go on), and a spoofer already flooding the client port a new
    peer will use."""
    registry = chat.start_registry()
    assert chat.registry_port is not None
    port = free_port()
    spoofer = Spoofer((HOST, chat.registry_port), (HOST, port), keys=3)
    os.kill(registry.pid, signal.SIGSTOP)
    try:
        yield chat, spoofer, port, registry
    finally:
        os.kill(registry.pid, signal.SIGCONT)
        spoofer.close()


def _victim(chat: ChatEnv, port: int, *options: str) -> Peer:
    """A new peer with a password, given as a script gives it (told to set it: no terminal
    asks), and `options` alone."""
    assert chat.registry_port is not None
    argv = [
        *chat.prefix, sys.executable, str(CHATAPP), "-c", "victim", HOST,
        str(chat.registry_port), str(port), "--data-dir", str(chat.root / "victim"),
        "--password", "--new-password", *options,
    ]  # fmt: skip
    peer = Peer(argv, name="victim", port=port, data_dir=chat.root / "victim", env=chat.env)
    chat.procs.append(peer)
    peer.send(PASSWORD)
    return peer


def _nothing_reached(spoofer: Spoofer) -> None:
    """No Register, and not even a handshake, reached any of the spoofer's keys."""
    assert spoofer.sent > 100, "the spoofer did flood"
    assert spoofer.registers == [] and spoofer.handshakes == 0


def test_a_script_with_a_password_refuses_to_send_it_to_a_key_nobody_checked(
    attacked: tuple[ChatEnv, Spoofer, int, ChatProc],
) -> None:
    chat, spoofer, port, _registry = attacked
    victim = _victim(chat, port)
    victim.expect(r"no pinned key yet.*--registry-key CODE, or --trust-first-key")
    assert victim.wait_exit(10) == 1
    _nothing_reached(spoofer)


def test_with_the_join_code_the_spoofer_is_refused_and_the_peer_registers(
    attacked: tuple[ChatEnv, Spoofer, int, ChatProc],
) -> None:
    chat, spoofer, port, registry = attacked
    victim = _victim(chat, port, *chat.trusting())
    refused = victim.expect(r"answered with the key fingerprint ([\d ]+), which is not the join")
    assert refused.group(1).replace(" ", "") != chat.join_code.replace("-", "")
    os.kill(registry.pid, signal.SIGCONT)  # the registry's own answer comes at last
    # the victim's next copy of its Register (it backs off while the registry is silent),
    # and the password check: up to 11 s on a loaded host
    victim.expect_line(WELCOME, PASSWORD_CHECK_WAIT)
    victim.expect_line(TABLE_UPDATED)
    _nothing_reached(spoofer)


def test_two_keys_answering_are_an_alarm_and_nothing_is_sent(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    assert chat.registry_port is not None
    port = free_port()
    spoofer = Spoofer((HOST, chat.registry_port), (HOST, port), keys=1)
    try:
        victim = _victim(chat, port, "--trust-first-key")
        alarm = victim.expect(r"Two different keys answered .*fingerprints ([\d ]+) and ([\d ]+)\.")
        codes = {alarm.group(n).replace(" ", "") for n in (1, 2)}
        assert chat.join_code.replace("-", "") in codes  # the registry's, and the spoofer's
        assert victim.wait_exit(10) == 1
        assert re.search(r"nothing was sent", alarm.string)
        _nothing_reached(spoofer)
    finally:
        spoofer.close()


def test_at_a_terminal_the_fingerprint_is_asked_about_once_before_anything_is_sent(
    shared_chat: ChatEnv,
) -> None:
    pexpect = pytest.importorskip("pexpect")
    forked_terminal = pytest.importorskip("tests.forked_terminal")
    chat = shared_chat
    tina = chat.named("tina")
    fingerprint = chat.join_code.replace("-", " ")
    env = dict(chat.env, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    refused = r"\[Not trusted: nothing was sent\.\]"
    # the full screen says it too, though its screen never began
    for answer, then, status, mode in (
        ("n", refused, 1, []),
        ("n", refused, 1, ["--plain"]),
        ("y", "", 0, ["--plain"]),
    ):
        argv = [
            str(CHATAPP), "-c", tina, HOST, str(chat.registry_port), str(free_port()),
            "--data-dir", str(chat.root / "tina"), *mode,
        ]  # fmt: skip
        child = forked_terminal.Spawn(sys.executable, argv, env=env, encoding="utf-8", timeout=10)
        try:
            question = rf"has the key fingerprint {fingerprint}; .* Trust it\? \[y/N\] "
            child.expect(rf"The registry at {HOST}:{chat.registry_port} {question}")
            child.sendline(answer)
            if then:
                child.expect(then)
            else:
                child.expect(re.escape(WELCOME))
                child.expect(f"{tina}>")
                child.sendline("quit")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        assert child.exitstatus == status


def test_an_operator_script_shows_its_key_only_to_the_join_codes_registry(chat: ChatEnv) -> None:
    chat.start_registry()
    assert chat.registry_port is not None
    chat.env["CHATAPP_DESK_KEY"] = (chat.registry_dir / "desk-key").read_text().strip()
    where = (HOST, str(chat.registry_port))
    unchecked = chat.spawn("-o", "ann", *where, label="operator")
    unchecked.expect(r"no pinned key yet.*before the operator key is sent.*--registry-key CODE")
    assert unchecked.wait_exit(10) == 1
    other = "-".join(["12345"] * 6)
    wrong = chat.spawn("-o", "ann", *where, "--registry-key", other, label="operator")
    wrong.expect(r"answered with the key fingerprint [\d ]+, which is not the join code's")
    wrong.expect(r"never answered with the join code's key; nothing was sent")
    assert wrong.wait_exit(10) == 1
    right = chat.spawn("-o", "ann", *where, *chat.trusting(), label="operator")
    right.expect(r"On duty as ann")
