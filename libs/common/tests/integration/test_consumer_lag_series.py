"""Lag series follow the assignment: a partition given to another member stops being reported.

A member used to keep the last lag of every partition it ever owned: after a rebalance the
NewsroomConsumerLag alert and the dashboard showed lag no one had.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy.engine import Connection

from newsroom_common import metrics
from newsroom_common.consumer import ConsumerRunner
from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import create_producer
from newsroom_common.worker import StopFlag
from newsroom_devstack.testing import eventually

pytestmark = pytest.mark.integration


def lag_series(group: str) -> set[TopicPartition]:
    """The partitions `group` exports a `newsroom_consumer_lag` series for in this process."""
    return {
        TopicPartition(sample.labels["topic"], int(sample.labels["partition"]))
        for metric in metrics.CONSUMER_LAG.collect()
        for sample in metric.samples
        if sample.labels["group"] == group
    }


def test_a_member_reports_lag_only_for_the_partitions_it_owns_after_a_rebalance(
    kafka: Any, schema_tables: tuple[sa.Engine, str, sa.Table, sa.Table], topic: str
) -> None:
    engine, _, _, processed = schema_tables
    group = f"lag-{uuid.uuid4().hex[:8]}"
    everything = {TopicPartition(topic, p) for p in range(3)}

    def ignore(connection: Connection, events: Sequence[CloudEvent]) -> None:
        return None

    runner = ConsumerRunner(
        engine=engine,
        processed_events=processed,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        topics=[topic],
        handler=ignore,
        dead_letter_topic=f"{topic}.dlt",
        producer_factory=lambda: create_producer(kafka.bootstrap_servers, client_id=group),
        lag_refresh_s=0.2,
    )
    stop_runner = StopFlag()
    member = threading.Thread(target=runner.run, args=(stop_runner,), name="member-a")
    member.start()
    stop_other = threading.Event()
    other_assignment: set[TopicPartition] = set()

    def other_member() -> None:
        # A second member of the same group: its joining takes partitions from the runner.
        consumer = KafkaConsumer(
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=group,
            enable_auto_commit=False,
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
        )
        consumer.subscribe([topic])
        try:
            while not stop_other.is_set():
                consumer.poll(timeout_ms=200)
                other_assignment.clear()
                other_assignment.update(consumer.assignment())
        finally:
            consumer.close(autocommit=False)

    other = threading.Thread(target=other_member, name="member-b")
    try:
        eventually(
            lambda: runner.stats.assigned == everything and lag_series(group) == everything,
            timeout=60,
            interval=0.1,
            what="the only member to own and report all three partitions",
        )
        other.start()
        eventually(
            lambda: (
                other_assignment
                and runner.stats.assigned == everything - other_assignment
                and lag_series(group) == runner.stats.assigned
            ),
            timeout=60,
            interval=0.1,
            what="the rebalance, after which the runner reports only the partitions it kept "
            f"(it reports {lag_series(group)}, owns {runner.stats.assigned})",
        )
        assert set(runner.stats.lag) == {
            f"{tp.topic}[{tp.partition}]" for tp in runner.stats.assigned
        }
    finally:
        stop_other.set()
        if other.is_alive():
            other.join(timeout=30)
        stop_runner.set()
        member.join(timeout=30)
    assert not member.is_alive(), "the member did not stop within 30s of its stop flag"
    # A member that left the group reports nothing.
    assert lag_series(group) == set()
    assert runner.stats.lag == {}
