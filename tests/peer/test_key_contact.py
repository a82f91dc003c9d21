"""First contact carried out (peer/adapter/key_contact.py): requests asked again, answers weighed,
the person asked, and nothing trusted that should not be."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

import peer.adapter.key_contact
import peer.core.retry_wait
from peer.adapter.key_contact import ContactRule, KeyContact
from wire.keys import code_from_text, fingerprint, join_code
from wire.reliable import ATTEMPTS

WHERE = "127.0.0.1:5000"
REAL, FAKE = os.urandom(32), os.urandom(32)
CODE = code_from_text(join_code(REAL))
NO_ANSWER = "[no answer]"

pytestmark = pytest.mark.timeout(10)


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peer.adapter.key_contact, "TIMEOUT", 0.02)


class Run:
    """A contact whose key requests are answered by `answers` (called at each ask)."""

    def __init__(
        self, rule: ContactRule, answers: Callable[[KeyContact, int], None] | None = None
    ) -> None:
        self.said: list[str] = []
        self.asks = 0
        self._answers = answers
        self.contact = KeyContact(
            WHERE, rule, self._ask, lambda line, error: self.said.append(line)
        )

    def _ask(self) -> None:
        self.asks += 1
        if self._answers is not None:
            self._answers(self.contact, self.asks)


def settled(make: Callable[[], Run]) -> tuple[Run, bytes | None]:
    async def go() -> tuple[Run, bytes | None]:
        run = make()
        return run, await run.contact.settle(NO_ANSWER)

    return asyncio.run(go())


def test_with_the_code_an_impostor_answering_first_is_refused_and_the_real_key_trusted() -> None:
    def answers(contact: KeyContact, ask: int) -> None:
        contact.answered(FAKE)
        if ask == 2:  # the real answer drowned once, then through
            contact.answered(REAL)

    run, key = settled(lambda: Run(ContactRule(code=CODE), answers))
    assert key == REAL and run.asks == 2
    assert len(run.said) == 1 and fingerprint(FAKE) in run.said[0]


def test_with_the_code_and_only_impostors_nothing_is_trusted_and_it_is_said() -> None:
    run, key = settled(lambda: Run(ContactRule(code=CODE), lambda c, n: c.answered(FAKE)))
    assert key is None and run.asks == ATTEMPTS
    assert "never answered with the join code's key" in run.said[-1]


def test_no_answer_at_all_is_said_as_the_caller_says_it() -> None:
    run, key = settled(lambda: Run(ContactRule()))
    assert key is None and run.said == [NO_ANSWER] and not run.contact.answers.heard


def test_a_refused_request_ends_a_silent_contact_at_once_and_is_said_as_no_answer() -> None:
    run, key = settled(lambda: Run(ContactRule(), lambda c, n: c.refused()))
    assert key is None and run.asks == 1 and run.said == [NO_ANSWER]


def test_a_refusal_after_a_key_answered_is_not_taken_for_a_registry_down() -> None:
    def answers(contact: KeyContact, ask: int) -> None:
        contact.answered(REAL) if ask == 1 else contact.refused()

    run, key = settled(lambda: Run(ContactRule(code=CODE), answers))
    assert key == REAL and run.said == []


def test_a_script_takes_the_one_key_unasked() -> None:
    run, key = settled(lambda: Run(ContactRule(), lambda c, n: c.answered(REAL)))
    assert key == REAL and run.contact.unasked and run.said == []


def test_two_keys_are_an_alarm_and_nothing_is_trusted() -> None:
    def answers(contact: KeyContact, ask: int) -> None:
        contact.answered(FAKE)
        contact.answered(REAL)

    run, key = settled(lambda: Run(ContactRule(trust_first=True), answers))
    assert key is None and "Two different keys" in run.said[-1]


def _asking(
    reply: Callable[[], Coroutine[Any, Any, bool]], questions: list[str]
) -> Callable[[str], Coroutine[Any, Any, bool]]:
    async def confirm(question: str) -> bool:
        questions.append(question)
        return await reply()

    return confirm


def test_on_a_terminal_the_person_is_asked_once_with_the_fingerprint() -> None:
    questions: list[str] = []

    async def yes() -> bool:
        return True

    async def no() -> bool:
        return False

    rule = ContactRule(confirm=_asking(yes, questions), secret="your password")
    run, key = settled(lambda: Run(rule, lambda c, n: c.answered(REAL)))
    assert key == REAL and not run.contact.unasked
    assert len(questions) == 1 and fingerprint(REAL) in questions[0] and "[y/N]" in questions[0]
    rule = ContactRule(confirm=_asking(no, questions))
    run, key = settled(lambda: Run(rule, lambda c, n: c.answered(REAL)))
    assert key is None and run.said == ["[Not trusted: nothing was sent.]"]


def test_a_second_key_while_the_person_thinks_ends_the_question_in_an_alarm() -> None:
    questions: list[str] = []
    cancelled: list[bool] = []
    holder: list[KeyContact] = []

    async def thinking() -> bool:
        holder[0].answered(FAKE)  # another key answers while the question is open
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return True

    def make() -> Run:
        run = Run(ContactRule(confirm=_asking(thinking, questions)), lambda c, n: c.answered(REAL))
        holder.append(run.contact)
        return run

    run, key = settled(make)
    assert key is None and cancelled == [True] and "Two different keys" in run.said[-1]


@pytest.mark.needs_pure  # replaces retry_wait.silent_wait, which compiled callers bind
def test_a_registry_silent_at_first_contact_is_asked_less_and_less_often_for_its_patience(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[int] = []

    def wait(where: str, rounds: int) -> float:
        waits.append(rounds)
        return 0.01 * 2.0**rounds

    monkeypatch.setattr(peer.core.retry_wait, "silent_wait", wait)
    # A patience of several rounds, so that a loaded machine still shows the waits growing.
    run, key = settled(lambda: Run(ContactRule(trust_first=True, patience=1.0)))
    # said whole once (where, how long, what to check), then a count each round
    first, *counts, last = run.said
    assert key is None and last == NO_ANSWER
    assert first.startswith(f"[No answer from the registry at {WHERE} after ")
    assert (
        "s more. Check its address and port" in first
        and "firewall" in first
        and len(counts) == len(waits) - 1
    )
    assert all(c.startswith(f"[Still no answer from {WHERE} after ") for c in counts)
    assert waits[:3] == [0, 1, 2] and run.asks == ATTEMPTS * (len(waits) + 1)


def test_a_registry_that_answers_while_still_tried_is_trusted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(peer.core.retry_wait, "silent_wait", lambda where, rounds: 0.05)

    def answers(contact: KeyContact, ask: int) -> None:
        if ask > 2 * ATTEMPTS:  # it starts, two rounds on
            contact.answered(REAL)

    run, key = settled(lambda: Run(ContactRule(trust_first=True, patience=30.0), answers))
    assert key == REAL and run.said[0].startswith(f"[No answer from the registry at {WHERE}")


def test_a_damaged_pins_file_is_said_before_the_key_is_asked_about_and_not_revived(
    tmp_path: Path,
) -> None:
    from secure.keys import PINS_FILE, Pins
    from wire.keys import key_text

    pins_file = tmp_path / PINS_FILE
    fake = key_text(FAKE)
    pins_file.write_text(f'{{"registry {WHERE}": "{fake}", "peer bob": "{fake}", "x": 7}}')
    pins = Pins(tmp_path)
    run = Run(ContactRule(), lambda c, n: c.answered(REAL))  # (a script: taken unasked)
    key, _ = asyncio.run(run.contact.trust(pins, f"registry {WHERE}", NO_ANSWER))
    assert key == REAL
    assert run.said[0] == f"[{pins.problem}]" and str(pins_file) in pins.problem
    # it started afresh, as said: the damaged file's other pins do not come back
    assert Pins(tmp_path).labels() == [f"registry {WHERE}"]
