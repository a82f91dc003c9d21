"""First contact's trust decision (peer/core/first_contact.py) and the rule that says whether
it may begin at all (peer/adapter/key_contact.py's ContactRule)."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from peer.adapter.key_contact import ContactRule
from peer.core.first_contact import SETTLE, FirstContact, KeyAlarm, KeyFound
from wire.keys import code_from_text, fingerprint, has_code, join_code

WHERE = "127.0.0.1:5000"
REAL, FAKE, FAKE2 = os.urandom(32), os.urandom(32), os.urandom(32)
CODE = code_from_text(join_code(REAL))


async def _yes(question: str) -> bool:
    return True


def test_the_join_code_is_the_fingerprint_and_reads_with_spaces_or_dashes() -> None:
    digits = fingerprint(REAL).replace(" ", "")
    assert join_code(REAL).replace("-", "") == digits
    assert code_from_text(fingerprint(REAL)) == code_from_text(join_code(REAL)) == digits
    assert code_from_text(f"  {digits} ") == digits
    assert has_code(REAL, digits) and not has_code(FAKE, digits)
    for wrong in ("", digits[:-1], digits + "1", digits[:-1] + "x", "\u0661" * 30):
        assert code_from_text(wrong) is None


def test_with_the_code_only_its_key_is_trusted_and_the_first_other_is_said_once() -> None:
    contact = FirstContact(WHERE, CODE)
    line = contact.key_answered(FAKE, 0.0)
    assert line is not None and fingerprint(FAKE) in line and "refused" in line
    assert contact.key_answered(FAKE2, 0.0) is None  # said once, however many keys
    assert contact.key_answered(FAKE, 0.0) is None
    assert contact.verdict(10.0) is None and contact.refused == 3
    assert contact.key_answered(REAL, 1.0) is None
    assert contact.verdict(1.0) == KeyFound(REAL, trusted=True)
    contact.key_answered(FAKE, 1.1)  # what comes after changes nothing
    assert contact.verdict(1.1) == KeyFound(REAL, trusted=True)


def test_with_the_code_its_key_answering_first_is_trusted_at_once() -> None:
    contact = FirstContact(WHERE, CODE)
    contact.key_answered(REAL, 5.0)
    assert contact.verdict(5.0) == KeyFound(REAL, trusted=True) and contact.wake() is None


def test_without_a_code_one_key_is_proposed_once_settled() -> None:
    contact = FirstContact(WHERE, None)
    assert contact.verdict(0.0) is None and contact.wake() is None
    contact.key_answered(REAL, 1.0)
    contact.key_answered(REAL, 1.1)  # the same key again is no second answer
    assert contact.verdict(1.0 + SETTLE / 2) is None
    assert contact.wake() == 1.0 + SETTLE
    assert contact.verdict(1.0 + SETTLE) == KeyFound(REAL, trusted=False)


def test_without_a_code_two_keys_are_an_alarm_naming_both_whenever_the_second_comes() -> None:
    for second_at in (0.0, SETTLE / 2, SETTLE * 10):  # at any time before it is trusted
        contact = FirstContact(WHERE, None)
        contact.key_answered(FAKE, 0.0)
        contact.key_answered(REAL, second_at)
        contact.key_answered(FAKE2, second_at)
        verdict = contact.verdict(second_at)
        assert isinstance(verdict, KeyAlarm)
        assert fingerprint(FAKE) in verdict.line and fingerprint(REAL) in verdict.line
        assert "nothing was sent" in verdict.line and contact.wake() is None


@given(st.lists(st.tuples(st.sampled_from([REAL, FAKE, FAKE2]), st.floats(0, 5)), max_size=30))
def test_no_answers_ever_trust_a_key_the_code_is_not_of(answers: list[tuple[bytes, float]]) -> None:
    contact = FirstContact(WHERE, CODE)
    for key, at in sorted(answers, key=lambda a: a[1]):
        contact.key_answered(key, at)
        verdict = contact.verdict(at)
        assert verdict is None or verdict == KeyFound(REAL, trusted=True)


@given(st.lists(st.sampled_from([REAL, FAKE, FAKE2]), min_size=1, max_size=30))
def test_without_a_code_a_key_is_proposed_only_when_it_alone_answered(keys: list[bytes]) -> None:
    contact = FirstContact(WHERE, None)
    for key in keys:
        contact.key_answered(key, 0.0)
    verdict = contact.verdict(SETTLE)
    if len(set(keys)) == 1:
        assert verdict == KeyFound(keys[0], trusted=False)
    else:
        assert isinstance(verdict, KeyAlarm)


def test_a_pinned_key_is_kept_unless_set_aside_or_not_the_codes() -> None:
    assert ContactRule().keeps(REAL)
    assert not ContactRule().keeps(None)
    assert not ContactRule(accept_new=True).keeps(REAL)
    assert ContactRule(code=CODE).keeps(REAL)
    assert not ContactRule(code=CODE).keeps(FAKE)  # first contact again, for the code's key


def test_a_secret_without_a_terminal_needs_the_code_or_trust_first_key() -> None:
    refusal = ContactRule(secret="your password").refusal(WHERE)
    assert refusal is not None and "--registry-key" in refusal and "--trust-first-key" in refusal
    assert ContactRule(secret="your password", code=CODE).refusal(WHERE) is None
    assert ContactRule(secret="your password", trust_first=True).refusal(WHERE) is None
    assert ContactRule(secret="your password", confirm=_yes).refusal(WHERE) is None
    assert ContactRule().refusal(WHERE) is None  # nothing secret: the first key, as before


def test_a_registry_found_on_the_network_is_still_only_proposed() -> None:
    # discovery is a hint: the advertised key answering is proposed, never trusted by itself
    contact = FirstContact(WHERE, None, advertised=CODE)
    contact.key_answered(REAL, 1.0)
    assert contact.verdict(1.0) is None
    assert contact.verdict(1.0 + SETTLE) == KeyFound(REAL, trusted=False)


def test_a_key_other_than_the_advertised_one_is_an_alarm() -> None:
    contact = FirstContact(WHERE, None, advertised=CODE)
    contact.key_answered(FAKE, 1.0)
    verdict = contact.verdict(1.0)
    assert isinstance(verdict, KeyAlarm)
    assert fingerprint(FAKE) in verdict.line and fingerprint(REAL) in verdict.line
    assert "nothing was sent" in verdict.line


def test_a_join_code_given_outranks_what_was_advertised() -> None:
    # the person's code is the trust; an advertiser's claim changes nothing about it
    fake_code = code_from_text(join_code(FAKE))
    contact = FirstContact(WHERE, CODE, advertised=fake_code)
    contact.key_answered(REAL, 1.0)
    assert contact.verdict(1.0) == KeyFound(REAL, trusted=True)


def test_the_question_says_the_registry_was_found_on_the_network() -> None:
    from peer.core.first_contact import question

    assert "found on the network" in question(WHERE, REAL, found=True)
    assert "found on the network" not in question(WHERE, REAL)
    assert fingerprint(REAL) in question(WHERE, REAL, found=True)
