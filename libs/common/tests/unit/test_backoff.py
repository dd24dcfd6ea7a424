"""The one backoff of every retry loop: exponential, full jitter, capped, and stop-aware."""

from __future__ import annotations

import threading
import time

import pytest

from newsroom_common.backoff import Backoff, sleep_unless_stopped
from newsroom_common.worker import StopFlag


def test_delays_are_full_jitter_below_a_doubling_bound_that_is_capped() -> None:
    bounds: list[float] = []

    def widest(low: float, high: float) -> float:
        assert low == 0.0
        bounds.append(high)
        return high

    backoff = Backoff(first_s=0.25, cap_s=5.0, rng=widest)
    delays = [backoff.next_delay() for _ in range(8)]
    assert delays == bounds == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 0.25


def test_real_delays_spread_between_zero_and_the_bound() -> None:
    backoff = Backoff(first_s=1.0, cap_s=1.0)
    delays = [backoff.next_delay() for _ in range(200)]
    assert all(0.0 <= d <= 1.0 for d in delays)
    # Full jitter: retries of many workers do not line up on one instant.
    assert len({round(d, 3) for d in delays}) > 100


def test_a_stop_flag_set_during_the_wait_ends_it_at_once() -> None:
    stop = StopFlag()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert Backoff(first_s=60.0, cap_s=60.0, rng=lambda _, high: high).wait(stop)
    assert time.monotonic() - started < 5.0


def test_a_plain_callable_is_looked_at_while_sleeping() -> None:
    deadline = time.monotonic() + 0.2
    started = time.monotonic()
    assert sleep_unless_stopped(60.0, lambda: time.monotonic() > deadline)
    assert time.monotonic() - started < 5.0
    assert not sleep_unless_stopped(0.01, lambda: False)


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="first_s"):
        Backoff(first_s=0.0)
    with pytest.raises(ValueError, match="cap_s"):
        Backoff(first_s=2.0, cap_s=1.0)
