"""Fixtures for the end-to-end tests: a fresh data directory and a `chat` environment that
kills every process it started when the test ends, pass or fail; `shared_chat`, the same
on the test worker's shared registry (tests/e2e/shared_registry.py). A failing test's
report gets a section with everything each of its processes printed."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .harness import ChatEnv
from .shared_registry import SharedRegistry

if TYPE_CHECKING:
    from tests.nats_servers import NatsServer

_ENV = pytest.StashKey[ChatEnv]()
_SHARED_FROM = pytest.StashKey[tuple[SharedRegistry, int]]()


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


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[list[NatsServer]]:
    """The NATS servers of a new service, for a test of its registries."""
    from tests.nats_servers import nats_cluster

    with nats_cluster(tmp_path / "nats") as servers:
        yield servers


@pytest.fixture(scope="session")
def shared_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedRegistry]:
    """This test worker's registry, for `shared_chat`."""
    shared = SharedRegistry(tmp_path_factory.mktemp("shared-registry"))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def shared_chat(
    request: pytest.FixtureRequest, data_dir: Path, shared_registry: SharedRegistry
) -> Iterator[ChatEnv]:
    """As `chat`, with the worker's registry already running and no registry to start:
    `shared_chat.start_peer("alice")` registers alice with this test's suffix (its
    `.name`). For the tests that neither restart, kill, reconfigure nor read the files of
    the registry; its output, `shared_chat.registry.expect(...)`, is the test's to read
    (match the names with a word's end: `alice-7\\b` is not `alice-71`)."""
    registry = shared_registry.ready()
    env = ChatEnv(data_dir)
    env.registry_port, env.join_code = shared_registry.port, shared_registry.join_code
    env.registry = registry  # its output from here on: this test's (its names' suffix)
    env.suffix = shared_registry.next_suffix()
    request.node.stash[_ENV] = env
    request.node.stash[_SHARED_FROM] = (shared_registry, len(registry.transcript))
    try:
        yield env
    finally:
        env.close()
        shared_registry.empty()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    env = item.stash.get(_ENV, None)
    if env is not None and report.failed and env.procs:
        report.sections.append(("ChatApp processes", env.transcripts()))
    shared = item.stash.get(_SHARED_FROM, None)
    if shared is not None and report.failed:
        registry, start = shared
        report.sections.append(("The shared registry", registry.transcript_from(start)))
    return report
