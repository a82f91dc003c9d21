"""The per-address token bucket."""

from registry.flood import MAX_TRACKED, WARN_EVERY, FloodGate


def test_burst_then_rate() -> None:
    gate = FloodGate(rate=10, burst=5)
    a = ("127.0.0.1", 1)
    assert [gate.admit(a, 0.0)[0] for _ in range(7)] == [True] * 5 + [False] * 2
    assert gate.admit(a, 0.1)[0]  # 0.1 s at 10/s gives one back
    assert not gate.admit(a, 0.1)[0]


def test_warns_at_most_every_period() -> None:
    gate = FloodGate(rate=1, burst=1)
    a = ("127.0.0.1", 1)
    gate.admit(a, 0.0)
    warns = [gate.admit(a, t / 100)[1] for t in range(1, 100)]
    assert warns.count(True) == 1
    gate.admit(a, WARN_EVERY + 0.5)  # refilled: admitted
    assert gate.admit(a, WARN_EVERY + 0.5) == (False, True)


def test_tracked_addresses_are_bounded() -> None:
    gate = FloodGate()
    for port in range(MAX_TRACKED + 50):
        gate.admit(("10.0.0.1", port), 0.0)
    assert len(gate._buckets) == MAX_TRACKED
