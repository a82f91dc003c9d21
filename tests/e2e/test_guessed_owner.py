"""A name's owner is never locked out by guessing, tried with real processes: guessers at
several addresses, each guess with a key of its own, then the owner on a new machine with
the right password; and a guesser learns nothing of whether a name has a password."""

from __future__ import annotations

import concurrent.futures
import re
import time

import pytest

from .harness import HOST, WELCOME, ChatEnv
from .password_client import guess
from .secure_socket import SecureSocket

from wire import messages  # isort: skip  (harness puts the repository on sys.path)
from peer.core.requests import SILENT_KEEPALIVES  # isort: skip  (harness: sys.path)

PASSWORD = "correct-horse-battery-staple"
#: The guessers' addresses: five machines of the LAN.
GUESSERS = [f"127.0.0.{n}" for n in range(2, 7)]
#: Seconds an answer to a guess, or the owner's registration, is awaited: a guess is
#: answered once its password is checked, behind up to CHECKS_AT_ONCE others, which a
#: loaded machine may make seconds each.
CHECKED_WITHIN = 40.0


def _guess(server: tuple[str, int], host: str, name: str, n: int | str) -> str:
    """One guess at `name`'s password from `host`, with a new key (a challenge asked, a
    proof that proves nothing sent); the refusal's reason, or the wait asked (Busy)."""
    with SecureSocket(host=host) as sock:
        sock.learn_key(server)
        said = guess(sock, server, name, f"g-{n}", wait=CHECKED_WITHIN)
        assert not isinstance(said, messages.Welcome), said
        return said.reason if isinstance(said, messages.Refused) else f"wait {said.wait_ms} ms"


def _checked_guesses(server: tuple[str, int], host: str, name: str, count: int) -> list[str]:
    """`count` guesses at `name`'s password from `host`, each with a new key, each of them
    checked: one refused for coming too soon is sent again when the registry said to (as
    a guesser would, and the owner's way in must hold against it). Their answers."""
    reasons: list[str] = []
    n = 0
    while len(reasons) < count:
        n += 1
        reason = _guess(server, host, name, f"{host}-{n}")
        if wait := re.fullmatch(r"wait (\d+) ms", reason):
            time.sleep(int(wait.group(1)) / 1000)  # the wait the registry set: nothing to await
            continue
        reasons.append(reason)
    return reasons


def _registered_and_gone(chat: ChatEnv, name: str, password: str = "") -> None:
    """`name` registered from a folder of its own (with `password`, if any), then quit."""
    peer = chat.start_peer(
        name,
        wait=False,
        data_dir=chat.root / name,
        password=password,
        keepalive=CHECKED_WITHIN / SILENT_KEEPALIVES,  # as long as it tries to register
    )
    peer.expect_line(WELCOME, timeout=CHECKED_WITHIN)
    peer.send("/quit")
    assert peer.wait_exit() == 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_owner_on_a_new_machine_gets_in_after_guesses_from_five_addresses(
    chat: ChatEnv,
) -> None:
    chat.start_registry(options=["--no-desk-console"])
    _registered_and_gone(chat, "alice", PASSWORD)
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    # five machines at once, three guesses each, every one checked (and found wrong)
    with concurrent.futures.ThreadPoolExecutor(len(GUESSERS)) as pool:
        answers = pool.map(lambda host: _checked_guesses(server, host, "alice", 3), GUESSERS)
        reasons = [reason for each in answers for reason in each]
    assert reasons == ["Wrong password for alice."] * 15
    # alice, on a machine she never used (a new key, a new folder): her password alone
    alice = chat.start_peer(
        "alice",
        wait=False,
        data_dir=chat.root / "alice-new-machine",
        password=PASSWORD,
        keepalive=CHECKED_WITHIN / SILENT_KEEPALIVES,  # as long as she tries to register
    )
    alice.expect_line(WELCOME, timeout=CHECKED_WITHIN)


@pytest.mark.timeout(120)
def test_a_guess_is_answered_alike_whether_or_not_the_name_has_a_password(
    chat: ChatEnv,
) -> None:
    chat.start_registry(options=["--no-desk-console"])
    _registered_and_gone(chat, "alice", PASSWORD)
    _registered_and_gone(chat, "bob")
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    with_password = _guess(server, "127.0.0.7", "alice", 1).replace("alice", "NAME")
    without = _guess(server, "127.0.0.8", "bob", 2).replace("bob", "NAME")
    assert with_password == without == "Wrong password for NAME."
