"""What a hostile LAN cannot take from a name's owner, tried with real processes and an
attacker's own keys: room in the owner's mailbox, the owner's way in while others guess its
password, and its mail when the registry lost its table."""

from __future__ import annotations

import contextlib
import re
import select
import threading
import time
from collections.abc import Callable

import pytest

from .harness import (
    HOST,
    OFFLINE_BYE,
    PASSWORD_CHECK_WAIT,
    SAVED,
    TABLE_UPDATED,
    WELCOME,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    Peer,
    mail_line,
)
from .password_client import ask, guess, proof_for, random_proof, registration, set_password
from .secure_socket import SecureSocket

from wire import messages  # isort: skip  (harness puts the repository on sys.path)
from wire.version import WIRE_VERSION  # isort: skip
from peer.core.requests import SILENT_KEEPALIVES  # isort: skip
from registry.core.flood import PASSWORD_GLOBAL_BURST, PASSWORD_RATE, WRONG_WAIT_FIRST  # isort: skip
from registry.core.registration import CHECKS_AT_ONCE  # isort: skip

PASSWORD = "correct-horse-battery-staple"


def _registered(sock: SecureSocket, name: str, server: tuple[str, int]) -> str:
    """Register `name` with the socket's own key; its token."""
    sock.learn_key(server)
    register = messages.Register(f"{name}-reg", name, sock.address[1], "", "", WIRE_VERSION)
    return sock.ask(register, server, messages.Welcome).token


@pytest.mark.timeout(90)
def test_a_flood_from_one_key_leaves_room_for_a_real_message(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    alice, bob = chat.start_peers("alice", "bob")
    alice.send(f"dereg {alice.name}")
    alice.expect_line(OFFLINE_BYE)
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    saved = refused = 0
    reasons: set[str] = set()
    with SecureSocket(host="127.0.0.3") as mallory:
        name = chat.named("mallory")
        token = _registered(mallory, name, server)
        for batch in range(10):  # a thousand messages, as fast as they are answered
            for n in range(100):
                save = messages.SaveMessage(f"m-{batch}-{n}", name, token, alice.name, "x" * 500)
                mallory.send(save, server)
            for message, _, _ in mallory.receive(3.0):
                if isinstance(message, messages.Ack | messages.Acks):
                    saved += len(message.replies) if isinstance(message, messages.Acks) else 1
                elif isinstance(message, messages.Refused):
                    refused += 1
                    reasons.add(message.reason)
    assert saved == 250 and refused == 750, (saved, refused)
    assert reasons == {
        f"You have a quarter of {alice.name}'s mailbox, the most one sender may fill; "
        f"try again once {alice.name} has read your messages."
    }
    bob.send(f"send {alice.name} the real one")
    bob.expect_line(SAVED)
    alice.send(f"reg {alice.name}")
    alice.expect_line(YOU_HAVE_MESSAGES)
    alice.expect(mail_line(bob.name, "the real one"))


class _Guessers:
    """Machines guessing alice's password, each with a key of its own, on a thread: while
    `go` is set, each that was not found wrong since `new_round` asks a challenge every
    PACE s, and answers each it gets with a proof that proves nothing (one found wrong waits
    a second or more before its next check, so it holds back)."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.sent = 0
        #: The addresses whose guess was checked and found wrong since `new_round`.
        self.found_wrong: set[str] = set()
        #: Each address's wrong guesses so far, and when the last was said.
        self.wrongs: dict[str, tuple[int, float]] = {}
        self.go, self.stop = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._guess)

    def new_round(self) -> None:
        with self.lock:
            self.found_wrong = set()
        self.go.set()

    def wrong_in_round(self) -> int:
        with self.lock:
            return len(self.found_wrong)

    def held_until(self) -> float:
        """When, on the monotonic clock, every guesser's wait after its wrong guesses is
        over and the checks in all are full again (the registry's rule:
        registry/core/flood.py)."""
        with self.lock:
            ends = [
                said
                + max(WRONG_WAIT_FIRST * 2.0 ** (count - 1), PASSWORD_GLOBAL_BURST / PASSWORD_RATE)
                for count, said in self.wrongs.values()
            ]
        return max(ends) + 0.5

    def _guess(self) -> None:
        socks = [SecureSocket(host=host) for host in GUESSERS]
        try:
            for sock in socks:
                sock.learn_key(self.server)
                sock.sock.setblocking(False)
            while not self.stop.is_set():
                for sock in socks:
                    if self.go.is_set() and sock.address[0] not in self.found_wrong:
                        self.sent += 1  # a challenge asked: a check begun, if in budget
                        sock.send(ask("alice", f"g-{self.sent}"), self.server)
                    with contextlib.suppress(BlockingIOError, OSError):
                        while True:
                            for message, _ in sock.take():
                                self._answered(sock, message)
                time.sleep(PACE)  # pacing the attack, not waiting for a condition
        finally:
            for sock in socks:
                sock.close()

    def _answered(self, sock: SecureSocket, message: messages.Message) -> None:
        host = sock.address[0]
        if isinstance(message, messages.PasswordChallenge):  # proven with random bytes
            sock.send(registration("alice", f"p-{message.reply_to}", random_proof()), self.server)
        if isinstance(message, messages.Refused) and "Wrong" in message.reason:
            with self.lock:
                self.found_wrong.add(host)
                count, _ = self.wrongs.get(host, (0, 0.0))
                self.wrongs[host] = (count + 1, time.monotonic())


#: Twenty-four machines guessing: more than the checks the registry does in all (a burst of
#: PASSWORD_GLOBAL_BURST, then PASSWORD_RATE a second) in the seconds an owner's start
#: takes, so that the checks stay spent down to the part kept for addresses that guessed
#: nothing (PASSWORD_RESERVED) while the owner comes.
GUESSERS = [f"127.0.0.{n}" for n in range(2, 26)]
#: Seconds between a guesser's guesses: a check given back to all is taken within that.
PACE = 0.02


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_owner_gets_in_while_a_guesser_with_many_keys_guesses(chat: ChatEnv) -> None:
    """Guessers at 24 addresses, each with a key of its own, spend the password checks in
    all down to the part kept for addresses that guessed nothing, and go on guessing; then
    sam types his password on a new machine, and alice starts with her key. Both get in:
    alice with no check, sam with the check kept for him. Without that part kept, the
    guessers had spent every check, and sam was refused at once."""
    chat.start_registry(options=["--no-desk-console"])
    for name, data in (("alice", chat.peer_dir), ("sam", chat.root / "sam-first")):
        peer = chat.start_peer(name, data_dir=data, password=PASSWORD)
        peer.send("/quit")
        assert peer.wait_exit() == 0
    assert chat.registry_port is not None
    guessers = _Guessers((HOST, chat.registry_port))
    guessers.thread.start()
    try:
        guessers.new_round()  # every address guesses until found wrong once
        _until(lambda: guessers.wrong_in_round() == len(GUESSERS), timeout=60)
        guessers.go.clear()
        before = guessers.sent
        for attempt in range(2):
            time.sleep(max(0.0, guessers.held_until() - time.monotonic()))  # the registry's rule
            sam = chat.start_peer(  # on a new machine: only his password proves the name
                "sam",
                wait=False,
                data_dir=chat.root / f"sam-new-{attempt}",
                keepalive=PASSWORD_CHECK_WAIT / SILENT_KEEPALIVES,
                options=["--password", *chat.trusting()],
            )
            guessers.new_round()
            # the checks in all spent: those not kept at once, the rest as they come back
            _until(lambda: guessers.wrong_in_round() >= 2 * CHECKS_AT_ONCE, timeout=30)
            sam.send(PASSWORD)  # and only now does sam ask the registry
            alice = chat.start_peer("alice", wait=False)  # with her key, as often as she likes
            sam.expect_line(WELCOME, timeout=PASSWORD_CHECK_WAIT)
            alice.expect_line(WELCOME)
            guessers.go.clear()
            for peer in (sam, alice):
                peer.send("/quit")
                assert peer.wait_exit() == 0
    finally:
        guessers.stop.set()
        guessers.thread.join(10)
    assert guessers.sent > before, (before, guessers.sent)  # they went on while sam came in


def _until(condition: Callable[[], bool], timeout: float) -> None:
    """Return once `condition` holds (another thread makes it so; nothing to await but
    the poll)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not so after {timeout} s"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_registry_that_lost_its_table_gives_bobs_mail_to_bob_only(chat: ChatEnv) -> None:
    registry = chat.start_registry(options=["--no-desk-console"])
    alice, bob = chat.start_peers("alice", "bob")
    bob.send("/quit")
    assert bob.wait_exit() == 0
    for n in range(8):
        alice.send(f"send bob secret {n}")
        alice.expect_line(SAVED)
    alice.send("/quit")
    assert alice.wait_exit() == 0
    registry.terminate()
    assert registry.wait_exit() == 0
    (chat.registry_dir / "table.json").unlink()
    registry = chat.start_registry(options=["--no-desk-console"])
    registry.expect(r"no row for 1 name with a mailbox \(bob\): rebuilt")
    stranger = chat.start_peer("bob", wait=False, data_dir=chat.root / "stranger")
    stranger.expect_line("[The name bob belongs to someone else; only its owner can take it back.]")
    assert stranger.wait_exit() == 1
    assert not [line for line in stranger.collect(2) if "secret" in line]
    # alice comes back too (her row was lost with the table; her mail opens by the key that
    # saved it, which the mailbox kept, and by the key the table holds for her name again)
    chat.start_peer("alice", port=alice.port, data_dir=alice.data_dir)
    bob = chat.restart_peer(bob, wait=False)
    bob.expect_line(YOU_HAVE_MESSAGES)
    bob.expect_all([re.escape(f"secret {n}") for n in range(8)])


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_mail_from_someone_who_moved_to_a_new_key_is_still_shown(shared_chat: ChatEnv) -> None:
    """alice saves a message for bob, then takes her name to a new machine (a new key, by
    her password). bob pinned her old key when they talked: the message sealed by it is
    hers, and shown."""
    chat = shared_chat
    alice = chat.start_peer("alice", data_dir=chat.root / "alice-old", password=PASSWORD)
    bob = chat.start_peer("bob", data_dir=chat.root / "bob")
    alice.expect_line(TABLE_UPDATED)
    alice.send(f"send {bob.name} hello")
    bob.expect(rf"{alice.name}: hello")  # bob pins alice's key
    bob.send("/quit")
    assert bob.wait_exit() == 0
    _save_for_bob_then_move(chat, alice)
    bob = chat.restart_peer(bob, wait=False)
    bob.expect_line(YOU_HAVE_MESSAGES)
    bob.expect(rf"{alice.name}: .*while you were away")


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_mail_from_someone_who_moved_is_shown_to_one_who_never_talked_with_them(
    shared_chat: ChatEnv,
) -> None:
    """alice saves a message for bob, then takes her name to a new machine (a new key, by
    her password). bob never talked with her, so he pinned no key of hers: the registry
    says which key saved the message, and it is the key that sealed it."""
    chat = shared_chat
    bob = chat.start_peer("bob", data_dir=chat.root / "bob")
    bob.send("/quit")
    assert bob.wait_exit() == 0
    alice = chat.start_peer("alice", data_dir=chat.root / "alice-old", password=PASSWORD)
    _save_for_bob_then_move(chat, alice)
    bob = chat.restart_peer(bob, wait=False)
    bob.expect_line(YOU_HAVE_MESSAGES)
    bob.expect(mail_line(alice.name, "while you were away"))
    bob.expect_not("does not open|key has changed", within=1)


def _save_for_bob_then_move(chat: ChatEnv, alice: Peer) -> None:
    """alice, with bob away, saves "while you were away" for him and quits; then she starts
    from a new folder with her password (a new key) and quits again."""
    alice.send(f"send {chat.named('bob')} while you were away")
    alice.expect_line(SAVED)
    alice.send("/quit")
    assert alice.wait_exit() == 0
    new = chat.start_peer("alice", data_dir=chat.root / "alice-new", password=PASSWORD)
    new.send("/quit")
    assert new.wait_exit() == 0


def _session(host: str, server: tuple[str, int]) -> SecureSocket:
    """A socket at `host` with a key of its own and a session with the registry at
    `server` already made (by a table request), so that what it sends next goes at once."""
    sock = SecureSocket(host=host)
    sock.learn_key(server)
    sock.ask(messages.TableRequest(f"t-{host}"), server, messages.TableSnapshot)
    return sock


#: What answers a guess: a Welcome, a Refused, a PasswordChallenge, or a Busy (asked to wait).
_Answer = messages.Welcome | messages.Refused | messages.PasswordChallenge | messages.Busy


def _answer(sock: SecureSocket) -> _Answer:
    """The Welcome, Refused, PasswordChallenge or Busy that comes to `sock`, at once (a
    deadline, not a pause: `receive` waits for a quiet moment, and the guessers' rounds may
    not)."""
    deadline = time.monotonic() + PASSWORD_CHECK_WAIT
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock.sock], [], [], left)[0]:
            break
        for message, _ in sock.take():
            if isinstance(message, _Answer):
                return message
    raise AssertionError(f"no answer within {PASSWORD_CHECK_WAIT:g} s")


def _checked_guess(sock: SecureSocket, server: tuple[str, int]) -> _Answer:
    """A guess at pat's password from `sock`, asked again when the registry says to (the
    checks before it spent the budget in all); the answer once it was checked."""
    n = 0
    while True:
        n += 1
        said = guess(sock, server, "pat", f"g-{n}", PASSWORD_CHECK_WAIT)
        if isinstance(said, messages.Busy):
            time.sleep(said.wait_ms / 1000)  # the wait the registry set: nothing to await
            continue
        return said


def _proven(sock: SecureSocket, server: tuple[str, int], secret: str) -> _Answer:
    """The answer to the challenge that comes to `sock` (asked before): a proof of `secret`,
    or of nothing (""); a refusal of the ask as it is."""
    said = _answer(sock)
    if not isinstance(said, messages.PasswordChallenge):
        return said
    proof = proof_for(sock, server, "pat", secret, said) if secret else random_proof()
    sock.send(registration("pat", said.reply_to.removesuffix("-ask"), proof), server)
    answer = _answer(sock)
    assert not isinstance(answer, messages.PasswordChallenge)
    return answer


def _told(answer: _Answer) -> str:
    """A refusal's reason, or "wait" for a Busy."""
    return answer.reason if isinstance(answer, messages.Refused) else "wait"


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_guessers_at_eight_addresses_leave_a_check_for_the_owner(chat: ChatEnv) -> None:
    """Eight machines, each with a key of its own, that guessed pat's password once guess
    again, CHECKS_AT_ONCE at a time: they may spend the password checks in all only
    down to the part kept for addresses that guessed nothing (PASSWORD_RESERVED), so pat,
    on a new machine right behind their guesses, is checked at once. Without that part
    kept, the guessers spent every check and pat was told to try again."""
    chat.start_registry(options=["--no-desk-console"])
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    with _session("127.0.0.20", server) as pat:
        welcome = set_password(pat, server, "pat", PASSWORD, PASSWORD_CHECK_WAIT)
        pat.send(messages.Deregister("pat-bye", "pat", welcome.token, False, ""), server)
    hosts = [f"127.0.0.{n}" for n in range(2, 2 + 2 * CHECKS_AT_ONCE)]
    guessers = [_session(host, server) for host in hosts]
    owner = _session("127.0.0.30", server)
    try:
        for sock in guessers:  # each guesses once: it leaves the reserve alone from now on
            wrong = _checked_guess(sock, server)
            assert isinstance(wrong, messages.Refused), wrong
            assert wrong.reason == "Wrong password for pat."
        # the budget in all gains back its burst (and each guesser its wait of a second)
        time.sleep(PASSWORD_GLOBAL_BURST / PASSWORD_RATE + 0.5)  # the registry's rule
        first, second = guessers[:CHECKS_AT_ONCE], guessers[CHECKS_AT_ONCE:]
        for n, sock in enumerate(first):
            sock.send(ask("pat", f"a-{n}"), server)
        said = [_told(_proven(sock, server, "")) for sock in first]
        # the second round, and pat on a new machine right behind it
        for n, sock in enumerate(second):
            sock.send(ask("pat", f"b-{n}"), server)
        owner.send(ask("pat", "pat-2"), server)
        said += [_told(_proven(sock, server, "")) for sock in second]
        answer = _proven(owner, server, PASSWORD)
    finally:
        for sock in (*guessers, owner):
            sock.close()
    assert isinstance(answer, messages.Welcome), answer
    # the guessers spent what was not kept, and were refused the rest
    assert said.count("Wrong password for pat.") < len(hosts), said
