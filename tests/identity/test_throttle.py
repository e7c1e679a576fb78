"""The failed sign-in throttle on its own: windows, other clients, key ids, memory bound."""

from __future__ import annotations

import pytest

from egide.errors import RateLimited
from egide.identity.throttle import SignInThrottle


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, failures: int = 3, max_clients: int = 100) -> SignInThrottle:
    return SignInThrottle(failures=failures, window=60.0, max_clients=max_clients, clock=clock)


def test_after_n_failures_the_address_is_refused_until_the_window_ends() -> None:
    clock = Clock()
    gate = throttle(clock)
    for _ in range(3):
        gate.check("10.0.0.1", None)
        gate.failed("10.0.0.1", None)
    clock.now += 10
    with pytest.raises(RateLimited) as refused:
        gate.check("10.0.0.1", None)
    assert refused.value.retry_after == pytest.approx(50.0)
    assert "10.0.0.1" not in refused.value.message  # the caller knows its own address
    # Another address is not affected.
    gate.check("10.0.0.2", None)
    assert gate.closed() == []
    clock.now += 51
    [summary] = gate.closed()
    assert summary.client == "address:10.0.0.1"
    assert (summary.failures, summary.refused) == (3, 1)
    assert summary.first and summary.last
    gate.check("10.0.0.1", None)  # a new window


def test_thousands_of_refused_attempts_make_one_summary() -> None:
    clock = Clock()
    gate = throttle(clock)
    for _ in range(3):
        gate.failed("10.0.0.1", None)
    for _ in range(5000):
        with pytest.raises(RateLimited):
            gate.check("10.0.0.1", None)
    clock.now += 61
    [summary] = gate.closed()
    assert summary.refused == 5000
    assert gate.closed() == []


def test_a_flooded_key_id_refuses_failing_addresses_but_not_a_clean_one() -> None:
    clock = Clock()
    gate = throttle(clock)
    # Three addresses each fail once on the same key id: the key id is throttled.
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        gate.failed(address, "abc123")
    with pytest.raises(RateLimited):
        gate.check("10.0.0.1", "abc123")  # has failed before: refused unchecked
    gate.check("10.0.0.9", "abc123")  # a clean address (the key's owner) is checked
    gate.check("10.0.0.1", "other")  # another key id from a failing address is checked


def test_a_flood_from_many_addresses_stays_within_the_table_bound() -> None:
    clock = Clock()
    gate = throttle(clock, failures=1, max_clients=1000)
    for n in range(50_000):
        address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        gate.failed(address, f"key{n}")
        with pytest.raises(RateLimited):
            gate.check(address, None)
    assert len(gate) <= 1000
    # The evicted windows are summarised, and the summaries waiting to be journaled are
    # bounded too (the excess is folded into one): every refused attempt is counted.
    summaries = gate.closed() + gate.drain()
    assert len(summaries) <= 2 * 1000 + 1
    assert sum(s.refused for s in summaries) == 50_000


def test_off_when_failures_is_zero() -> None:
    gate = throttle(Clock(), failures=0)
    for _ in range(100):
        gate.failed("10.0.0.1", "abc")
        gate.check("10.0.0.1", "abc")
    assert len(gate) == 0
