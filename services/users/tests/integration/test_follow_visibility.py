"""A follow waits for the replicas that read users' events: the real relay, Kafka and groups.

A consumer group of the test's own stands for articles' follows replica: it holds a member
that reads and commits only when the test says so.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer

from newsroom_common.database_url import psycopg2_url
from newsroom_devstack.testing import eventually
from newsroom_users.adapters.replica_watch import KafkaReplicaWatch
from newsroom_users.adapters.tables import outbox
from newsroom_users.topics import USERS_EVENTS

pytestmark = pytest.mark.e2e


class Reader:
    """One member of a consumer group on users.events.v1 that commits only when asked."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self.consumer = KafkaConsumer(
            USERS_EVENTS,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            # A member that joins before its first metadata answer is assigned nothing and
            # rejoins once the metadata shows the topic's partitions; look again every second.
            # (That rejoin is what newsroom_common.kafka_join_fix repairs: CI runs 25 and 30
            # waited out their 60 s with this reader stuck in it.)
            metadata_max_age_ms=1000,
        )

    def catch_up(self) -> None:
        """Read to the end of every assigned partition, then commit."""

        def at_end() -> bool:
            self.consumer.poll(timeout_ms=200)
            assigned = self.consumer.assignment()
            if not assigned:
                return False
            ends = self.consumer.end_offsets(list(assigned))
            return all(self.consumer.position(tp) >= ends[tp] for tp in assigned)

        eventually(at_end, timeout=60, what="the test reader at the end of users.events.v1")
        self.consumer.commit()

    def close(self) -> None:
        self.consumer.close(autocommit=False)


@pytest.fixture
def watch_and_reader(stack: Any) -> Iterator[tuple[KafkaReplicaWatch, Reader]]:
    group = f"follow-watch-test-{uuid.uuid4().hex[:8]}"
    bootstrap = stack.kafka.bootstrap_servers
    engine = sa.create_engine(psycopg2_url(stack.postgres.database_url("users")))
    reader = Reader(bootstrap, group)
    watch = KafkaReplicaWatch(
        engine=engine,
        outbox=outbox,
        bootstrap_servers=bootstrap,
        topic=USERS_EVENTS,
        groups=[group],
    )
    try:
        yield watch, reader
    finally:
        # The watch's clients too: left open, their I/O threads outlived the session and
        # logged to a closed stream at exit (CI runs 32 and 34).
        watch.close()
        reader.close()
        engine.dispose()


def _follow_event(stack: Any, api: Any, follower: Any, followee: Any) -> str:
    response = api.call("POST", f"/api/profiles/{followee.username}/follow", token=follower.token)
    assert response.status_code == 200, response.text
    engine = sa.create_engine(psycopg2_url(stack.postgres.database_url("users")))
    try:
        with engine.connect() as conn:
            event_id = conn.scalar(
                sa.select(outbox.c.event_id)
                .where(outbox.c.key == follower.id, outbox.c.event_type.like("%UserFollowed"))
                .order_by(outbox.c.id.desc())
                .limit(1)
            )
    finally:
        engine.dispose()
    assert event_id is not None
    return str(event_id)


def test_a_follow_waits_until_every_reading_group_has_committed_past_it(
    stack: Any, api: Any, watch_and_reader: tuple[KafkaReplicaWatch, Reader]
) -> None:
    watch, reader = watch_and_reader
    reader.catch_up()
    alice, bob = api.register(), api.register()
    reader.catch_up()
    event_id = _follow_event(stack, api, alice, bob)

    # The reader has a member but has not read the follow: not visible within the timeout.
    started = time.monotonic()
    assert not watch.wait_applied(event_id, timeout=1.0)
    assert time.monotonic() - started >= 1.0

    reader.catch_up()
    assert watch.wait_applied(event_id, timeout=10.0)


def test_a_group_with_no_member_is_not_waited_for(
    stack: Any, api: Any, watch_and_reader: tuple[KafkaReplicaWatch, Reader]
) -> None:
    watch, reader = watch_and_reader
    reader.catch_up()
    reader.close()
    alice, bob = api.register(), api.register()
    event_id = _follow_event(stack, api, alice, bob)

    eventually(
        lambda: watch.wait_applied(event_id, timeout=0.5),
        timeout=30,
        what="the reader group to have no member left",
    )
