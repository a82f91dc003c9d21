"""When a responder is under load (secure/cookie.py), and each address's budget then."""

from __future__ import annotations

from secure.cookie import (
    LOAD_BURST,
    LOAD_RATE,
    SOURCE_BURST,
    SOURCE_RATE,
    UNDER_LOAD_FOR,
    CookieChecker,
)
from wire.token_bucket import MAX_TRACKED


def test_initiations_within_the_rate_are_no_load() -> None:
    load = CookieChecker(bytes(32))
    every = 1.0 / LOAD_RATE
    assert not any(load.under_load(i * every) for i in range(int(10 * LOAD_RATE)))


def test_a_burst_over_the_rate_is_load_until_a_second_after_the_last_one_over() -> None:
    load = CookieChecker(bytes(32))
    assert not any(load.under_load(0.0) for _ in range(int(LOAD_BURST)))
    assert load.under_load(0.0)  # one more at once
    assert load.under_load(0.5)  # within the rate again, but under load still
    assert not load.under_load(UNDER_LOAD_FOR + 0.01)


def test_a_steady_flood_is_load_throughout() -> None:
    load = CookieChecker(bytes(32))
    flood = [load.under_load(i / 8000) for i in range(8000 * 3)]
    assert all(flood[int(LOAD_BURST) + 1 :])


def test_each_ip_gets_its_budget_whatever_its_ports() -> None:
    load = CookieChecker(bytes(32))
    admitted = [load.sources.take("10.0.0.1", 0.0) for _ in range(10)]
    assert admitted == [True] * int(SOURCE_BURST) + [False] * (10 - int(SOURCE_BURST))
    assert load.sources.take("10.0.0.2", 0.0)  # another address has its own
    assert load.sources.take("10.0.0.1", 1.0 / SOURCE_RATE)  # and it fills again at the rate


def _spent_then_others(others: int) -> CookieChecker:
    """A load where 10.0.0.1 spent its burst, then `others` other addresses had one
    handshake each (at the same moment: nothing refills)."""
    load = CookieChecker(bytes(32))
    while load.sources.take("10.0.0.1", 0.0):
        pass
    for i in range(others):
        load.sources.take(f"10.1.{i >> 8}.{i & 255}", 0.0)
    return load


def test_the_addresses_kept_are_bounded_the_least_recently_seen_forgotten() -> None:
    # with MAX_TRACKED kept, the spent address is still known, and still refused...
    kept = _spent_then_others(MAX_TRACKED - 1)
    assert not kept.sources.take("10.0.0.1", 0.0)
    # ... and one more pushes it out: it is known no more, and starts with a full burst
    forgotten = _spent_then_others(MAX_TRACKED)
    assert forgotten.sources.take("10.0.0.1", 0.0)
