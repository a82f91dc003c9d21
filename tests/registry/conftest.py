"""The registry's unit tests hash passwords at a low scrypt cost: the real one takes 0.3 s
a hash, and these tests are about the rules, not the cost (tests/registry/test_credentials.py
checks the real cost, and the end-to-end tests use it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from registry import credentials


@pytest.fixture(autouse=True)
def cheap_password_hashes(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.module.__name__.endswith("test_credentials"):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "LOG2_N", 10)
        yield
