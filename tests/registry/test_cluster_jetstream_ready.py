"""A registry's first answer from JetStream (registry/adapter/cluster/connect.connect), on
real nats-servers (tests/nats_servers.py): a server without JetStream is known at once, as
nothing answers its API; a cluster that has no leader yet is waited for."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from registry.adapter.cluster import connect
from registry.adapter.cluster.service_folder import open_folder
from registry.adapter.store import StorageError
from tests.nats_servers import START_TIMEOUT, NatsServer, new_service

pytestmark = pytest.mark.timeout(60)

#: Seconds within which a server without JetStream is said: far less than the wait for a
#: cluster's leader, which these tests set longer.
AT_ONCE = 5.0


def _started(server: NatsServer) -> NatsServer:
    server.start()
    server.wait_listening(time.monotonic() + START_TIMEOUT)
    return server


def test_a_server_without_jetstream_is_said_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connect, "READY_TIMEOUT", 10 * AT_ONCE)
    server = _started(NatsServer(new_service(tmp_path / "svc"), 1, jetstream=False))
    try:
        with pytest.raises(StorageError) as said:
            asyncio.run(
                asyncio.wait_for(connect.connect(open_folder(server.service), print), AT_ONCE)
            )
    finally:
        server.stop()
    assert f"NATS at {server.url} has no JetStream (nats: no responders" in str(said.value)


def test_a_cluster_with_no_leader_yet_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One server of a cluster of three, the others not started: it has JetStream, and
    no leader to answer with. The registry waits READY_TIMEOUT (short here) for one."""
    monkeypatch.setattr(connect, "READY_TIMEOUT", 1.0)
    monkeypatch.setattr(connect, "ANSWER_TIMEOUT", 0.25)
    service = new_service(tmp_path / "svc", 3)
    server = _started(NatsServer(service, 1))  # (the others not started)
    try:
        started = time.monotonic()
        with pytest.raises(StorageError) as said:
            asyncio.run(connect.connect(open_folder(service), print))
        waited = time.monotonic() - started
    finally:
        server.stop()
    assert f"NATS at {server.url}, " in str(said.value)
    assert "has no JetStream" in str(said.value) and "no responders" not in str(said.value)
    assert waited >= connect.READY_TIMEOUT
