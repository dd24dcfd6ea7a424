"""A member whose rejoin finished between two short polls takes up its partitions.

The regression test of newsroom_common.kafka_join_fix, on the real broker: without the fix
kafka-python 3.0.12 leaves this member REBALANCING with nothing assigned for good (checked by
running it with `kafka_join_fix.apply` made a no-op: stuck for the whole wait).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Collection
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from newsroom_common import kafka_join_fix
from newsroom_common.kafka_clients import bootstrap_list
from newsroom_devstack.testing import eventually

pytestmark = pytest.mark.integration


class Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Records every assignment the member was given."""

    def __init__(self) -> None:
        self.given: list[set[TopicPartition]] = []
        self.joined = threading.Event()

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        pass

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self.given.append(set(assigned))
        self.joined.set()


def test_the_kafka_python_in_use_is_the_patched_one() -> None:
    # A new kafka-python is not patched: this fails until the fix is checked against it
    # (kept, updated or dropped because upstream fixed it) and PATCHED_VERSION moved.
    assert kafka_join_fix.apply()


def test_a_rejoin_that_finishes_between_polls_is_taken_up(kafka: Any) -> None:
    topic = f"test.join.{uuid.uuid4().hex[:10]}"
    listener = Assignments()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_list(kafka.bootstrap_servers),
        group_id=f"join-fix-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        metadata_max_age_ms=500,
    )
    try:
        # Subscribed before the topic exists: the member joins and is assigned nothing.
        consumer.subscribe([topic], listener=listener)
        eventually(
            lambda: consumer.poll(timeout_ms=100) is not None and listener.joined.is_set(),
            timeout=30,
            what="the member's first join",
        )
        assert listener.given == [set()]

        # The topic appears: the next metadata refresh makes the member rejoin. Each poll
        # gives up at once and the next comes later, so the rejoin finishes between polls.
        kafka.create_topics({topic: 3})

        def assigned() -> bool:
            consumer.poll(timeout_ms=1)
            time.sleep(0.3)
            return bool(consumer.assignment())

        eventually(assigned, timeout=30, what="the rejoined member's partitions")
        assert consumer.assignment() == {TopicPartition(topic, p) for p in range(3)}
        assert listener.given[-1] == consumer.assignment()
    finally:
        consumer.close(autocommit=False)
