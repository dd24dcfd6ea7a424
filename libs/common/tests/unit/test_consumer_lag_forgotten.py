"""A member that loses its broker drops its lag: /readyz and /metrics show no old lag.

The rebalance case needs a real group (tests/integration/test_consumer_lag_series.py); a
consumer dropped after a lost broker is shown here with a stand-in KafkaConsumer, as in
test_consumer_lost_broker.py.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from kafka import TopicPartition
from kafka.errors import KafkaConnectionError

from newsroom_common import metrics
from newsroom_common.consumer import ConsumerRunner
from newsroom_common.shared_tables import add_shared_tables

PARTITION = TopicPartition("t", 0)


class BehindThenLost:
    """A KafkaConsumer three records behind on one partition, whose broker then goes away."""

    def __init__(self) -> None:
        self.polls = 0

    def poll(self, **_: Any) -> dict[Any, Any]:
        self.polls += 1
        if self.polls > 1:
            raise KafkaConnectionError("111 ECONNREFUSED")
        return {}

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def end_offsets(self, partitions: Any) -> dict[TopicPartition, int]:
        return dict.fromkeys(partitions, 5)

    def position(self, _: TopicPartition) -> int:
        return 2

    def close(self, **_: Any) -> None:
        return None


def _lag_samples(group: str) -> dict[str, float]:
    return {
        sample.labels["partition"]: sample.value
        for metric in metrics.CONSUMER_LAG.collect()
        for sample in metric.samples
        if sample.labels["group"] == group
    }


def test_a_dropped_consumer_leaves_no_lag_behind() -> None:
    _, processed = add_shared_tables(sa.MetaData())
    runner = ConsumerRunner(
        engine=sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none"),
        processed_events=processed,
        bootstrap_servers="127.0.0.1:1",
        group_id="lag-dropped",
        topics=["t"],
        handler=lambda *_: None,
        dead_letter_topic="t.dlt",
        producer_factory=lambda: None,
        lag_refresh_s=0.0,
    )
    runner.consumer = BehindThenLost()

    runner.poll_once(timeout_ms=10)
    assert runner.stats.lag == {"t[0]": 3}
    assert _lag_samples("lag-dropped") == {"0": 3.0}

    runner.poll_once(timeout_ms=10)
    assert not runner.connected
    assert runner.stats.lag == {}
    assert _lag_samples("lag-dropped") == {}
