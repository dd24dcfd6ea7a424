"""A consumer whose poll raises a lost broker is dropped, and its member joins again.

kafka-python re-raises connection errors from its heartbeat in `poll`; in `make test` one
stopped the views consumers for good during a broker restart (a race the integration
test of a broker outage does not always hit, so the reaction is shown here directly).
A broker too slow to answer the lag's offsets request must not stop a member either.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from kafka import TopicPartition
from kafka.errors import KafkaConnectionError, KafkaTimeoutError

from newsroom_common.consumer import ConsumerRunner
from newsroom_common.shared_tables import add_shared_tables
from newsroom_common.worker import StopFlag


class LostBroker:
    """Stands in for a KafkaConsumer whose broker went away."""

    def __init__(self) -> None:
        self.closed = False

    def poll(self, **_: Any) -> dict[Any, Any]:
        raise KafkaConnectionError("111 ECONNREFUSED")

    def close(self, **_: Any) -> None:
        self.closed = True
        raise KafkaConnectionError("LeaveGroup request failed")


def _runner() -> ConsumerRunner:
    _, processed = add_shared_tables(sa.MetaData())

    def handler(*_: Any) -> None:
        raise AssertionError("nothing to handle")

    return ConsumerRunner(
        engine=sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none"),
        processed_events=processed,
        bootstrap_servers="127.0.0.1:1",
        group_id="g",
        topics=["t"],
        handler=handler,
        dead_letter_topic="t.dlt",
        producer_factory=lambda: None,
        lag_refresh_s=0.0,
    )


def test_a_lost_broker_drops_the_consumer_instead_of_raising() -> None:
    runner = _runner()
    lost = LostBroker()
    runner.consumer = lost
    runner.stats.assigned.add(TopicPartition("t", 0))
    assert runner.connected

    assert runner.poll_once(timeout_ms=10) == 0

    assert lost.closed
    assert not runner.connected
    assert runner.stats.assigned == set()


class Quiet(LostBroker):
    """A KafkaConsumer with nothing to deliver; `stop` is set after `polls` polls."""

    def __init__(self, stop: StopFlag, polls: int) -> None:
        super().__init__()
        self.stop, self.polls_left, self.polls = stop, polls, 0

    def poll(self, **_: Any) -> dict[Any, Any]:
        self.polls += 1
        if self.polls >= self.polls_left:
            self.stop.set()
        return {}

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("t", 0)}

    def end_offsets(self, _: Any) -> dict[TopicPartition, int]:
        raise KafkaTimeoutError("Failed to get offsets by timestamps in 30000 ms")

    def close(self, **_: Any) -> None:
        self.closed = True


def test_a_lag_that_cannot_be_read_does_not_stop_the_member() -> None:
    stop = StopFlag()
    runner = _runner()
    quiet = Quiet(stop, polls=5)
    runner.consumer = quiet

    runner.run(stop)

    assert quiet.polls == 5
    assert quiet.closed
    assert runner.stats.lag == {}


def test_a_member_whose_consumer_lost_the_broker_joins_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stop = StopFlag()
    runner = _runner()
    consumers: list[LostBroker] = [LostBroker(), Quiet(stop, polls=3)]
    joined: list[LostBroker] = []

    def start() -> None:
        joined.append(consumers[len(joined)])
        runner.consumer = joined[-1]

    monkeypatch.setattr(runner, "start", start)
    runner.run(stop)

    assert joined == consumers
    assert all(c.closed for c in consumers)
    assert not runner.connected
