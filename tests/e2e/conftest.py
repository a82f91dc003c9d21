"""Fixtures for the end-to-end tests: a fresh data directory and a `chat` environment that
kills every process it started when the test ends, pass or fail. A failing test's report
gets a section with everything each of its processes printed."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from .harness import ChatEnv

_ENV = pytest.StashKey[ChatEnv]()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, empty directory for this test's registry and peer state."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def chat(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[ChatEnv]:
    """Start registries and peers with `chat.start_registry()`, `chat.start_peer(name)`."""
    env = ChatEnv(data_dir)
    request.node.stash[_ENV] = env
    try:
        yield env
    finally:
        env.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    env = item.stash.get(_ENV, None)
    if env is not None and report.failed and env.procs:
        report.sections.append(("ChatApp processes", env.transcripts()))
    return report
