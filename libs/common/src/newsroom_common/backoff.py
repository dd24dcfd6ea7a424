"""The one backoff every retry loop uses: exponential, full jitter, capped, stop-aware.

Full jitter (a random delay between 0 and the exponential bound) keeps many workers that
lost the same broker or database from retrying in lockstep. The wait returns as soon as
the process is asked to stop, so a SIGTERM during an outage ends the process within its
grace period instead of at the next fixed sleep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

ShouldStop = Callable[[], bool]


@runtime_checkable
class Waitable(Protocol):
    """A stop signal that can be slept on (`worker.StopFlag`): wakes as soon as it is set."""

    def __call__(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


class Backoff:
    """Delays for consecutive failures: `random(0, min(cap, first * 2**n))`."""

    def __init__(
        self,
        *,
        first_s: float = 0.25,
        cap_s: float = 5.0,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if first_s <= 0 or cap_s < first_s:
            raise ValueError(f"backoff needs 0 < first_s <= cap_s, got {first_s} and {cap_s}")
        self._first = first_s
        self._cap = cap_s
        self._rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        bound = min(self._cap, self._first * 2 ** min(self.failures, 32))
        self.failures += 1
        return self._rng(0.0, bound)

    def reset(self) -> None:
        """An attempt succeeded: the next failure starts from the first delay again."""
        self.failures = 0

    def wait(self, should_stop: ShouldStop) -> bool:
        """Sleep the next delay unless stopped first; True when the loop should stop."""
        return sleep_unless_stopped(self.next_delay(), should_stop)


def sleep_unless_stopped(seconds: float, should_stop: ShouldStop) -> bool:
    """Sleep up to `seconds`, returning early (True) once `should_stop()` is true."""
    if isinstance(should_stop, Waitable):
        return should_stop.wait(seconds) or should_stop()
    # A plain callable cannot be slept on: look at it every 50 ms.
    deadline = time.monotonic() + seconds
    while not should_stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(0.05, left))
    return True
