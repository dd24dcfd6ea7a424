"""A consumer whose poll raises a lost broker is dropped, for its member to join again.

kafka-python re-raises connection errors from its heartbeat in `poll`; in `make test` one
stopped the views consumers for good during a broker restart (a race the integration
test of a broker outage does not always hit, so the reaction is shown here directly).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from kafka import TopicPartition
from kafka.errors import KafkaConnectionError

from newsroom_common.consumer import ConsumerRunner
from newsroom_common.tables import add_shared_tables


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
        producer_factory=lambda: None,  # type: ignore[arg-type, return-value]
        rejoin_pause_s=0.0,
    )


def test_a_lost_broker_drops_the_consumer_instead_of_raising() -> None:
    runner = _runner()
    lost = LostBroker()
    runner.consumer = lost  # type: ignore[assignment]
    runner.stats.assigned.add(TopicPartition("t", 0))
    assert runner.connected

    assert runner.poll_once(timeout_ms=10) == 0

    assert lost.closed
    assert not runner.connected
    assert runner.stats.assigned == set()
