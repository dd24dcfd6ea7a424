"""A consumer group member keeps consuming when the broker cannot tell it its lag, or is lost."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kafka.errors import KafkaTimeoutError

from newsroom_common.worker import StopFlag
from newsroom_views.entrypoints.consumers import Member


class _RunnerWithoutLag:
    """A runner whose polls succeed but whose end offsets time out (the broker is away)."""

    def __init__(self, stop: StopFlag, polls: int) -> None:
        self.stop, self.polls_left = stop, polls
        self.polls = 0
        self.closed = False
        self.connected = True
        self.stats = SimpleNamespace(last_poll=0.0)

    def start(self) -> None:
        return None

    def poll_once(self, *, timeout_ms: int) -> None:
        self.polls += 1
        if self.polls >= self.polls_left:
            self.stop.set()

    def lag(self) -> dict[Any, int]:
        raise KafkaTimeoutError("Failed to get offsets by timestamps in 30000 ms")

    def close(self) -> None:
        self.closed = True


def test_a_lag_that_cannot_be_read_does_not_stop_the_member() -> None:
    stop = StopFlag()
    runner = _RunnerWithoutLag(stop, polls=5)
    member = Member(runner=runner, group="views-ingest")  # type: ignore[arg-type]
    member.run(stop, lag_refresh_s=0.0)
    assert member.error is None
    assert runner.polls == 5
    assert runner.closed


class _RunnerThatLosesItsBroker(_RunnerWithoutLag):
    """A runner whose second poll loses the broker: `poll_once` drops the consumer then."""

    def __init__(self, stop: StopFlag, polls: int) -> None:
        super().__init__(stop, polls)
        self.connected = False
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.connected = True

    def poll_once(self, *, timeout_ms: int) -> None:
        super().poll_once(timeout_ms=timeout_ms)
        if self.polls == 2:
            self.connected = False

    def lag(self) -> dict[Any, int]:
        return {}


def test_a_member_whose_consumer_lost_the_broker_joins_again() -> None:
    stop = StopFlag()
    runner = _RunnerThatLosesItsBroker(stop, polls=5)
    member = Member(runner=runner, group="views-users-replica")  # type: ignore[arg-type]
    member.run(stop, lag_refresh_s=0.0)
    assert member.error is None
    assert (runner.starts, runner.polls) == (2, 5)
