"""A name's password by SRP-6a with real processes (docs/SECURITY.md, "Passwords"): set once
for a new name, proven from another machine, refused when wrong; an impostor trusted by
mistake learns neither the password nor its hash, and a proof it relays to the real registry
fails there; at a terminal, a new name's password is set only once the person says yes."""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from .harness import CHATAPP, HOST, PASSWORD_CHECK_WAIT, WELCOME, ChatEnv, free_port
from .secure_socket import SecureSocket

from secure.channel import SecureChannel  # isort: skip  (harness puts the repository on sys.path)
from peer.adapter.key_checks import SAME_AGAIN, new_name_question  # isort: skip
from secure.password import LOG2_N, Stored, scrypt_hex  # isort: skip
from wire import messages  # isort: skip
from wire.codec import encode  # isort: skip

pytestmark = pytest.mark.timeout(120)

PASSWORD = "correct horse battery staple"


def _stored_verifier(chat: ChatEnv) -> Stored:
    """The verifier the registry keeps, found in its data directory."""
    for path in chat.registry_dir.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode(errors="replace")
            for word in text.replace('"', " ").split():
                if word.startswith("srp-") and (found := Stored.parse(word)) is not None:
                    return found
    raise AssertionError("no verifier kept")


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_new_names_password_is_set_then_proven_then_a_wrong_one_refused(chat: ChatEnv) -> None:
    chat.start_registry()
    eve = chat.start_peer("eve", password=PASSWORD)
    assert "[Setting the password of eve" in eve.tail()
    eve.send("quit")
    assert eve.wait_exit(10) == 0
    kept = _stored_verifier(chat)
    stored = _all_bytes(chat.registry_dir)
    assert PASSWORD.encode() not in stored
    assert scrypt_hex(PASSWORD, kept.scrypt_salt, kept.log2_n).encode() not in stored
    assert hashlib.sha256(PASSWORD.encode()).hexdigest().encode() not in stored
    # another machine (a new key, no token): the right password gets in
    other = chat.start_peer("eve", password=PASSWORD, data_dir=chat.root / "laptop")
    other.send("quit")
    assert other.wait_exit(10) == 0
    # a wrong one is refused as before, and the start ends with status 1
    wrong = chat.start_peer("eve", password="not it", data_dir=chat.root / "thief", wait=False)
    wrong.expect_line(f"[Wrong password for {wrong.name}.]", PASSWORD_CHECK_WAIT)
    assert wrong.wait_exit(10) == 1


class _Impostor:
    """A registry of its own key at its own port that relays what a peer sends to the real
    one at `real`, as a client of its own key: `heard`, everything the peer sent it;
    `answers`, what the real registry answered the relayed Register."""

    def __init__(self, real: tuple[str, int]) -> None:
        self.sock = SecureSocket(free_port())
        self.sock.channel = SecureChannel(self.sock.channel.static, answers_key_requests=True)
        self.out = SecureSocket()
        self.out.learn_key(real)
        self.real = real
        self.heard: list[messages.Message] = []
        self.answers: list[messages.Message] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            for message, frm, key in self.sock.receive(0.2):
                self.heard.append(message)
                if isinstance(message, messages.PasswordAsk):
                    asked = messages.PasswordAsk("imp-ask", message.name)
                    got = self.out.ask(asked, self.real, messages.PasswordChallenge)
                    relayed = messages.PasswordChallenge(
                        "imp-ch", message.id, got.new, got.scrypt, got.salt, got.public
                    )
                    self.sock.send(relayed, frm, key)
                elif isinstance(message, messages.Register) and message.proof:
                    again = messages.Register(
                        "imp-reg", message.name, self.out.address[1], "", message.proof,
                        message.wire,
                    )  # fmt: skip
                    answer = self.out.ask(again, self.real, messages.Refused | messages.Welcome)  # type: ignore[arg-type]
                    self.answers.append(answer)
                    self.sock.send(
                        messages.Refused(
                            "imp-no", message.id, f"Wrong password for {message.name}."
                        ),
                        frm,
                        key,
                    )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        self.out.close()


@pytest.mark.slow
def test_an_impostor_trusted_by_mistake_gets_no_password_and_its_relay_fails(
    chat: ChatEnv,
) -> None:
    chat.start_registry()
    assert chat.registry_port is not None
    eve = chat.start_peer("eve", password=PASSWORD)
    eve.send("quit")
    assert eve.wait_exit(10) == 0
    kept = _stored_verifier(chat)
    impostor = _Impostor((HOST, chat.registry_port))
    try:
        victim = chat.start_peer(
            "eve",
            password=PASSWORD,
            data_dir=chat.root / "victim",
            server_port=impostor.sock.address[1],
            options=("--trust-first-key",),
            wait=False,
        )
        victim.expect_line(f"[Wrong password for {victim.name}.]", PASSWORD_CHECK_WAIT)
        assert victim.wait_exit(10) == 1
    finally:
        impostor.close()
    # the real registry refused the relayed proof: it was bound to the victim's channel
    assert [type(a) for a in impostor.answers] == [messages.Refused]
    assert "Wrong password" in impostor.answers[0].reason  # type: ignore[union-attr]
    heard = b"".join(encode(m) for m in impostor.heard)
    assert any(isinstance(m, messages.Register) and m.proof for m in impostor.heard)
    assert PASSWORD.encode() not in heard
    assert scrypt_hex(PASSWORD, kept.scrypt_salt, kept.log2_n).encode() not in heard
    assert hashlib.sha256(PASSWORD.encode()).hexdigest().encode() not in heard
    assert kept.v.hex().encode() not in heard
    assert WELCOME


@pytest.mark.parametrize(("answer", "status"), [("n", 1), ("y", 0)])
def test_at_a_terminal_a_new_names_password_is_set_only_once_the_person_says_yes(
    chat: ChatEnv, answer: str, status: int
) -> None:
    pexpect = pytest.importorskip("pexpect")
    forked_terminal = pytest.importorskip("tests.forked_terminal")
    registry = chat.start_registry(options=["-v"])
    argv = [
        str(CHATAPP), "-c", "eve", HOST, str(chat.registry_port), str(free_port()),
        "--data-dir", str(chat.root / "eve"), "--password", *chat.trusting(), "--plain",
    ]  # fmt: skip
    env = dict(chat.env, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = forked_terminal.Spawn(sys.executable, argv, env=env, encoding="utf-8", timeout=20)
    try:
        child.expect("Password for eve: ")  # once: the registry has not said eve is new yet
        child.sendline(PASSWORD)
        child.expect(
            re.escape(f"[The registry at {HOST}:{chat.registry_port} is trusted by its join code.]")
        )
        child.expect(re.escape(new_name_question("eve")))
        child.sendline(answer)
        if answer == "n":
            child.expect(re.escape("[No password set; nothing was sent.]"))
        else:
            child.expect(re.escape(SAME_AGAIN))
            child.sendline(PASSWORD)
            child.expect(re.escape("[Setting the password of eve: the registry keeps a verifier"))
            child.expect(re.escape(WELCOME), PASSWORD_CHECK_WAIT)
            child.expect("eve>")
            child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == status
    if answer == "n":  # nothing was registered: the name is anyone's still
        registry.expect_not(r"registered eve\b", within=1)
        assert b"eve" not in _all_bytes(chat.registry_dir)
    else:
        registry.expect(r"registered eve at ")
        assert _stored_verifier(chat).log2_n == LOG2_N


def test_at_a_terminal_a_mistyped_new_password_is_asked_anew_and_a_set_one_once_elsewhere(
    chat: ChatEnv,
) -> None:
    pexpect = pytest.importorskip("pexpect")
    forked_terminal = pytest.importorskip("tests.forked_terminal")
    chat.start_registry()
    env = dict(chat.env, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")

    def start(machine: str) -> Any:
        argv = [
            str(CHATAPP), "-c", "eve", HOST, str(chat.registry_port), str(free_port()),
            "--data-dir", str(chat.root / machine), "--password", *chat.trusting(), "--plain",
        ]  # fmt: skip
        return forked_terminal.Spawn(sys.executable, argv, env=env, encoding="utf-8", timeout=20)

    child = start("first")
    try:
        for second in ("correct horse battery stable", PASSWORD):
            child.expect("Password for eve: ")
            child.sendline(PASSWORD)
            child.expect(re.escape(new_name_question("eve")))
            child.sendline("y")
            child.expect(re.escape(SAME_AGAIN))
            child.sendline(second)
            if second != PASSWORD:
                child.expect(re.escape("[The two passwords differ. No password was set.]"))
                child.expect(re.escape("[Try again (2 tries left).]"))
        child.expect(re.escape(WELCOME), PASSWORD_CHECK_WAIT)
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    # the name has its password: on another machine it is asked once, and proven; typed
    # wrong twice first, the right one typed at once waits out the address's wait (2 s)
    child = start("second")
    try:
        for typed, said in (("wrong one", "2 tries"), ("wrong two", "1 try"), (PASSWORD, "")):
            child.expect("Password for eve: ")
            child.sendline(typed)
            if said:
                child.expect(re.escape("[Wrong password for eve.]"), PASSWORD_CHECK_WAIT)
                child.expect(re.escape(f"[Try again ({said} left).]"))
        waited = re.escape("[Too many password tries from here lately; trying again in ")
        answers = [re.escape(SAME_AGAIN), waited, re.escape(WELCOME)]
        index = child.expect(answers, PASSWORD_CHECK_WAIT)
        if index == 1:  # (unless the machine took the 2 s to ask again)
            index = child.expect(answers, PASSWORD_CHECK_WAIT)
        assert index == 2
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
