"""The registry's unit tests hash passwords (as a client does) at a low scrypt cost: the real
one takes 0.3 s a hash, and these tests are about the rules, not the cost (the end-to-end
tests use it).

And the core's password checks are done at once, as its adapter does them later on a
thread of its own (tests/registry/core_helpers.py, `checked_at_once`): these tests are
about what a registration ends in. Those marked `two_step` see the CheckPassword itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from registry.core.actions import Action, CheckPassword
from registry.core.dispatch import RegistryCore
from secure import password
from secure.password import Challenge
from tests.registry import core_helpers
from tests.registry.core_helpers import checked_at_once


@pytest.fixture(autouse=True)
def passwords_checked_at_once(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("two_step"):
        yield
        return
    receive = RegistryCore.receive

    def received(self: RegistryCore, *args: Any, **kwargs: Any) -> list[Action]:
        return checked_at_once(self, receive(self, *args, **kwargs), args[2])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RegistryCore, "receive", received)
        yield


@pytest.fixture(autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(password, "LOG2_N", 10)
        patch.setattr(password, "MIN_LOG2_N", 10)
        yield


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[CheckPassword]:
    """Each password check the core asks for and `checked_at_once` carries out: a challenge
    begun (no `session`) or a proof checked (a `session`)."""
    done: list[CheckPassword] = []
    real = core_helpers.carry_out

    def counted(check: CheckPassword, secret: bytes, registry: bytes) -> Challenge | bool:
        done.append(check)
        return real(check, secret, registry)

    monkeypatch.setattr(core_helpers, "carry_out", counted)
    return done
