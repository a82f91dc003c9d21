"""Waits tuned against the protocol's retries (wire.reliable: TIMEOUT, DIRECT_TIMEOUT,
ATTEMPTS) stay where their reasons put them, whatever those are set to."""

from __future__ import annotations

import pytest

from bench.light import ACK_WAIT
from registry.core.flood import PASSWORD_GLOBAL_BURST, PASSWORD_RATE
from registry.core.registration import BUSY_AFTER
from secure.channel import HANDSHAKE_RETRY, REHANDSHAKE_AFTER
from secure.sessions import QUEUE_FOR
from tests.peer.retry_rule import REGISTER_ROUND, REGISTER_WAITS
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT, TIMEOUT


@pytest.mark.parametrize(
    ("name", "wait"),
    [
        # a message's first retry finds a fresh handshake out
        ("HANDSHAKE_RETRY", HANDSHAKE_RETRY),
        # a message's first retry finds a restarted other side again
        ("REHANDSHAKE_AFTER", REHANDSHAKE_AFTER),
        # nothing waits for a handshake to arrive after its sender tried again
        ("QUEUE_FOR", QUEUE_FOR),
    ],
)
def test_the_secure_channels_waits_end_before_a_retry(name: str, wait: float) -> None:
    assert 0 < wait < TIMEOUT, f"{name} must end before a request's retry"
    assert wait < DIRECT_TIMEOUT, f"{name} must end before a direct message's retry"


def test_a_registry_is_busy_once_a_retry_is_due() -> None:
    assert BUSY_AFTER == TIMEOUT


def test_a_probe_ends_before_the_start_that_asked_gives_up() -> None:
    # a name's holder is judged (ATTEMPTS probe copies, TIMEOUT apart) within the round
    # of the start that asks for it, even when its first three copies were lost
    assert sum(REGISTER_WAITS[:3]) + ATTEMPTS * TIMEOUT < REGISTER_ROUND


def test_the_bench_clients_ack_long_before_a_retry() -> None:
    assert ACK_WAIT <= TIMEOUT / 10


def test_a_burst_of_password_checks_drains_before_a_start_gives_up() -> None:
    # a start waiting its turn behind a whole burst still gets its Welcome in time
    assert PASSWORD_GLOBAL_BURST / PASSWORD_RATE < ATTEMPTS * TIMEOUT
