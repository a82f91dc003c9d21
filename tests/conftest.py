"""Suite-wide options: the long and the privileged tests are opt-in."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# The suite runs in three workers on as few as two cores (pyproject.toml): an example may
# then wait for a CPU longer than hypothesis' default 200 ms deadline. Speed is measured in
# bench/, not here.
settings.register_profile("chatapp", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("chatapp")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-soak", action="store_true", help="run the long randomized soaks")
    parser.addoption(
        "--run-netns", action="store_true", help="run the tests in a lossy network namespace"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for marker, option in (("soak", "--run-soak"), ("netns", "--run-netns")):
        if config.getoption(option):
            continue
        skip = pytest.mark.skip(reason=f"opt-in: pass {option}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
