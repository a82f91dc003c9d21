"""Hypothesis-driven junk at a running registry and a running peer: datagrams of
random bytes and of valid messages with wrong fields, and TCP streams of random bytes. Neither
process may crash or grow without bound, and legitimate peers must be unaffected."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wire.codec import encode
from wire.messages import MESSAGE_TYPES, Ack, Chat, Deregister, Register
from wire.version import WIRE_VERSION

from .harness import HOST, ChatEnv, ChatProc, Peer, direct

MAX_GROWTH_KB = 20_000  # what the junk may add to a process's resident memory at most


def rss_kb(proc: ChatProc) -> int:
    for row in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ChatEnv, ChatProc, list[Peer]]]:
    env = ChatEnv(tmp_path_factory.mktemp("fuzz"))
    try:
        registry = env.start_registry()
        peers = env.start_peers("x", "y")
        yield env, registry, peers
    finally:
        env.close()


valid_shaped = st.sampled_from(sorted(MESSAGE_TYPES)).flatmap(
    lambda name: st.fixed_dictionaries(
        {"t": st.just(name), "id": st.text(max_size=70)},
        optional={
            "name": st.text(max_size=40),
            "token": st.text(max_size=40),
            "port": st.integers(-5, 70000),
            "reply_to": st.text(max_size=20),
            "text": st.text(max_size=200),
            "to": st.text(max_size=40),
            "sender": st.text(max_size=40),
        },
    )
)
forged = st.sampled_from(
    [
        Register("f-1", "x", 6000, "wrong-token", "", WIRE_VERSION),
        Deregister("f-2", "y", "wrong", False, ""),
        Ack("f-3", "nothing"),
        Chat("f-4", "nobody", "x", "forged"),
    ]
).map(encode)
datagrams = st.lists(
    st.one_of(
        st.binary(max_size=1400),
        valid_shaped.map(lambda d: json.dumps(d).encode()),
        forged,
    ),
    min_size=20,
    max_size=120,
)


@pytest.mark.timeout(120)
@settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=datagrams, streams=st.lists(st.binary(min_size=1, max_size=3000), max_size=4))
def test_junk_at_running_processes(
    world: tuple[ChatEnv, ChatProc, list[Peer]], batch: list[bytes], streams: list[bytes]
) -> None:
    env, registry, (x, y) = world
    before = {p.label: rss_kb(p) for p in (registry, x)}
    targets = [(HOST, env.registry_port), (HOST, x.port)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for target in targets:
            for data in batch:
                sock.sendto(data, target)
    for target in targets:
        for data in streams:
            with socket.create_connection(target, timeout=5) as conn:
                conn.sendall(data)
    # both processes are alive and a real conversation still works both ways
    assert registry.alive and x.alive and y.alive
    direct(y, x, f"fuzz-{uuid.uuid4().hex[:8]}")
    direct(x, y, f"fuzz-{uuid.uuid4().hex[:8]}")
    for proc in (registry, x):
        assert rss_kb(proc) - before[proc.label] < MAX_GROWTH_KB
