"""KeyChecks.key_answered: a registry's key answer naming another protocol than ours is
another version of ChatApp, said once; its key is not weighed."""

from __future__ import annotations

from pathlib import Path

from peer.adapter.key_checks import KeyChecks
from peer.adapter.key_contact import ContactRule
from peer.core.actions import Print
from peer.core.table import Trust
from secure.noise import CHANNEL_PROTOCOL

SERVER = ("127.0.0.1", 5000)
PINNED, OTHER = bytes(range(32)), bytes(range(1, 33))


def checks(data_dir: Path, shown: list[Print]) -> KeyChecks:
    keys = KeyChecks(
        data_dir, SERVER, Trust(b"", lambda name: None), shown.append, rule=ContactRule()
    )
    keys.trust.registry = PINNED
    return keys


def test_our_protocol_and_the_pinned_key_say_nothing(tmp_path: Path) -> None:
    shown: list[Print] = []
    checks(tmp_path, shown).key_answered(SERVER, PINNED + CHANNEL_PROTOCOL)
    assert shown == []


def test_an_older_registry_is_said_once_and_its_key_not_weighed(tmp_path: Path) -> None:
    shown: list[Print] = []
    keys = checks(tmp_path, shown)
    for _ in range(3):
        keys.key_answered(SERVER, OTHER)  # an older ChatApp's answer: the key alone
    assert shown == [
        Print(
            "[ChatApp versions differ: the registry at 127.0.0.1:5000 speaks another secure "
            "channel. Use the same version of ChatApp on every machine.]",
            "error",
        )
    ]  # not also "answers with another key than the one pinned"


def test_another_protocol_is_another_version(tmp_path: Path) -> None:
    shown: list[Print] = []
    checks(tmp_path, shown).key_answered(SERVER, PINNED + b"Noise_IK_25519_ChaChaPoly_SHA256")
    assert [p.text[:25] for p in shown] == ["[ChatApp versions differ:"]


def test_an_answer_from_elsewhere_is_not_the_registrys(tmp_path: Path) -> None:
    shown: list[Print] = []
    checks(tmp_path, shown).key_answered(("127.0.0.1", 5001), OTHER)
    assert shown == []
