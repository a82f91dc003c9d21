"""A start's password step (peer/adapter/key_checks.py): a new name's password too short
to set, or asked again at a terminal, and a silent registry asked as long as a registration is."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

import peer.adapter.key_checks
import peer.core.retry_wait
from peer.adapter.key_checks import (
    SAME_AGAIN,
    Asks,
    KeyChecks,
    key_owns,
    new_name_question,
    too_short,
)
from peer.adapter.key_contact import ContactRule
from peer.adapter.start import PeerSettings
from peer.core.actions import Addr, Print
from peer.core.retry_wait import SilentRounds
from peer.core.table import Trust
from secure import password
from secure.password import MIN_LENGTH
from wire.messages import Busy, Message, PasswordAsk, PasswordChallenge

pytestmark = pytest.mark.timeout(10)
WHERE = "127.0.0.1:5000"


class Login:
    """A peer's proof to a registry that answers each ask with `new` (None: it is silent),
    but the first `busy` asks with a Busy of 30 ms."""

    def __init__(self, new: bool | None, patience: float = 0.0, busy: int = 0) -> None:
        self.said: list[str] = []
        self.sent: list[Message] = []
        self._new = new
        self._busy = busy
        self._folder = tempfile.TemporaryDirectory()
        rule = ContactRule(patience=patience)
        trust = Trust(b"r" * 32, lambda name: None)
        self.login = KeyChecks(
            Path(self._folder.name), ("127.0.0.1", 5000), trust, self._say, rule=rule
        )
        self.login.trusted_by = "its join code"

    def send(self, addr: Addr, message: Message, key: bytes) -> None:
        """The endpoint's: to the registry, sealed for its key."""
        self.sent.append(message)
        if self._new is not None and isinstance(message, PasswordAsk):
            reply: Message = PasswordChallenge("r-1", message.id, self._new)
            if self._busy:
                self._busy -= 1
                reply = Busy("r-0", message.id, 30)
            asyncio.get_running_loop().call_soon(self.login.password_answered, reply)

    def _say(self, line: Print) -> None:
        self.said.append(line.text)

    def prove(self, secret: str, asks: Asks | None = None) -> tuple[str, str] | None:
        settings = PeerSettings(password=secret, new_password=True)
        proving = self.login.prove(self.send, PasswordAsk("a-1", "pat"), b"k" * 32, settings, asks)
        try:
            return asyncio.run(proving)
        finally:
            self._folder.cleanup()


def test_a_short_password_is_refused_for_a_new_name_with_the_rule() -> None:
    run = Login(new=True)
    assert run.prove("abc") is None and run.login.ask_anew
    assert run.said == [
        f"[A new password needs at least {MIN_LENGTH} characters; this one has 3. "
        "No password was set.]"
    ]
    assert too_short("x" * MIN_LENGTH) == ""


@pytest.mark.parametrize(
    ("yes", "again", "set"),
    [(True, "long enough", True), (True, "long enuogh", False), (False, "", False)],
)
def test_at_a_terminal_a_new_name_s_password_is_set_on_a_yes_and_the_same_again(
    yes: bool, again: str, set: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # of the questions, not of the cost (tests/net/test_password.py): a cheap scrypt
    monkeypatch.setattr(password, "LOG2_N", 10)
    asked: list[str] = []

    async def yes_no(question: str) -> bool:
        asked.append(question)
        return yes

    async def secret(question: str) -> str:
        asked.append(question)
        return again

    run = Login(new=True)
    made = run.prove("long enough", (yes_no, secret))
    assert asked == [new_name_question("pat"), *([SAME_AGAIN] if yes else [])]
    if set:
        assert made is not None and made[0] == "" and made[1] and not run.login.ask_anew
    elif yes:  # typed differently: another password may be typed (the launcher asks)
        assert made is None and run.login.ask_anew
        assert run.said[-1] == "[The two passwords differ. No password was set.]"
    else:
        assert made is None and not run.login.ask_anew
        assert run.said[-1] == "[No password set; nothing was sent.]"


def test_a_short_password_of_a_name_that_has_one_is_still_proven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the registry asks no proof of a name our key owns: the length is not looked at, and
    # the person is told (found by trying it: a --password typed there was ignored without
    # a word, as if it had been checked, or set)
    run = Login(new=False)
    assert run.prove("abc") == ("", "") and not run.login.ask_anew
    assert run.said == [key_owns("pat")] and "neither checked nor changed" in run.said[0]


def test_an_ask_the_registry_asks_to_wait_goes_again_after_the_wait_said_each_time() -> None:
    # a wrong password makes its address wait: a try typed at once waits for it, and is not
    # refused (found by trying it: a second try typed at once ended the start, tries left)
    run = Login(new=False, busy=2)
    assert run.prove("long enough") == ("", "")
    waited = "[Too many password tries from here lately; trying again in 1 s.]"
    assert run.said == [waited, waited, key_owns("pat")]
    assert [type(m) for m in run.sent] == [PasswordAsk] * 3


@pytest.mark.needs_pure  # replaces module values a compiled module reads as constants
def test_a_silent_registry_is_asked_for_the_start_s_patience_and_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(peer.adapter.key_checks, "TIMEOUT", 0.002)
    monkeypatch.setattr(peer.core.retry_wait, "silent_wait", lambda where, rounds: 0.05)
    run = Login(new=None, patience=0.2)
    assert run.prove("long enough") is None
    first, *counts, last = run.said
    assert (
        first.startswith(f"[No answer from the registry at {WHERE} after ") and "firewall" in first
    )
    assert counts and all(c.startswith(f"[Still no answer from {WHERE}") for c in counts)
    assert last == "[Could not register; is the registry running?]"
    assert len(run.sent) > 5  # more than the one round it had before


def test_silent_rounds_say_the_time_tried_and_end_with_the_patience() -> None:
    rounds = SilentRounds(WHERE, 60.0, began=100.0)
    due, line = rounds.after_round(103.0) or (0.0, "")
    assert due > 103.0 and line.startswith(f"[No answer from the registry at {WHERE} after 3 s")
    assert "trying 60 s more" in line
    later = rounds.after_round(150.0)
    assert (
        later is not None
        and later[1] == f"[Still no answer from {WHERE} after 50 s; trying 13 s more.]"
    )
    assert rounds.after_round(163.0) is None
