"""Read-your-writes for follows: a follow answers once the replicas that promise it have it.

Articles keeps a replica of follows, fed by `users.events.v1`, and its feed reads only that
replica (no call to users per feed). So that a reader who just followed someone sees them in
the very next feed, the follow waits, before it answers, for: its outbox row relayed to
Kafka (the relay stamps `sent_at`), then every reading consumer group's committed offset on
the record's partition reaching the partition's end (consumers commit only after their
database commit, so a committed offset past the record means the replica holds it). Only
groups with members now are waited for: a service not deployed, or whose consumers are all
down, has nobody who could catch up in time.

Only follows wait (a few tens of milliseconds; feeds are far more frequent than follows),
and never for long: past the timeout, or with Kafka away, the follow answers anyway. It is
saved and will reach the replica; only its immediate visibility is not promised then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.engine import Engine

from newsroom_common.kafka_clients import bootstrap_list, broker_reachable

log = logging.getLogger(__name__)

# Between two looks at the outbox row or the groups' offsets.
POLL_INTERVAL_S = 0.005

# How each wait ended: visible (every reading group has it), no_readers (no group has a
# member), timeout (not relayed or not applied in time), kafka_unavailable. Anything but
# visible is a follow answered without the promise: an alert on its rate says the replicas
# lag (or are misnamed in USERS_FOLLOW_READERS) before users notice a stale feed.
FOLLOW_VISIBILITY = Counter(
    "newsroom_follow_visibility",
    "Follows and unfollows answered, by whether the reading replicas held them by then",
    ["outcome"],
)


class KafkaReplicaWatch:
    """Waits until consumer groups have committed past an event the users outbox wrote."""

    def __init__(
        self,
        *,
        engine: Engine,
        outbox: sa.Table,
        bootstrap_servers: str,
        topic: str,
        groups: Sequence[str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._groups = list(groups)
        self._sleep = sleep
        # kafka-python clients are not thread-safe and a gthread worker has several threads;
        # built on first use, after the fork.
        self._lock = threading.Lock()
        self._consumers: dict[str, Any] = {}
        self._admin: Any = None
        self._partitions: list[int] = []

    def wait_applied(self, event_id: str, *, timeout: float) -> bool:
        """True once every group has the event; False past `timeout` or without Kafka."""
        if not self._groups:
            return True
        deadline = time.monotonic() + timeout
        key = self._wait_relayed(event_id, deadline)
        if key is None:
            log.warning("follow not yet relayed to Kafka when answered", extra={"event": event_id})
            FOLLOW_VISIBILITY.labels("timeout").inc()
            return False
        try:
            readers = self._active_groups()
            if not readers:
                # No member of any reading group is up (not deployed, or stopped): nobody to
                # wait for; a starting member reads from its committed offset or the start.
                FOLLOW_VISIBILITY.labels("no_readers").inc()
                return True
            partition, end = self._end_of_partition(key)
            while True:
                # A group with no offset on the partition yet (its first members still joining)
                # is behind as surely as one with an older offset.
                if all((self._committed(g, partition) or 0) >= end for g in readers):
                    FOLLOW_VISIBILITY.labels("visible").inc()
                    return True
                if time.monotonic() >= deadline:
                    FOLLOW_VISIBILITY.labels("timeout").inc()
                    log.warning(
                        "a replica had not applied the follow when it was answered",
                        extra={"event": event_id, "groups": readers},
                    )
                    return False
                self._sleep(POLL_INTERVAL_S)
        except Exception as exc:
            # Kafka away or a client that lost its broker: the follow is saved and will reach
            # the replicas; answer it rather than fail it. The next follow starts afresh.
            log.warning("cannot read the replicas' positions: %s", exc)
            FOLLOW_VISIBILITY.labels("kafka_unavailable").inc()
            self.close()
            return False

    def _wait_relayed(self, event_id: str, deadline: float) -> bytes | None:
        o = self._outbox
        query = sa.select(o.c.key, o.c.sent_at).where(o.c.event_id == event_id)
        while True:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
            if row is not None and row.sent_at is not None:
                return str(row.key).encode()
            if time.monotonic() >= deadline:
                return None
            self._sleep(POLL_INTERVAL_S)

    def _end_of_partition(self, key: bytes) -> tuple[Any, int]:
        from kafka import TopicPartition
        from kafka.partitioner.default import murmur2

        consumer = self._consumer(self._groups[0])
        with self._lock:
            if not self._partitions:
                found = consumer.partitions_for_topic(self._topic)
                if not found:
                    raise LookupError(f"topic {self._topic} has no partitions")
                self._partitions = sorted(found)
            # Where the relay's producer puts a keyed record (kafka-python's default partitioner,
            # Java's too): murmur2 of the key over every partition of the topic.
            index = (murmur2(key) & 0x7FFFFFFF) % len(self._partitions)
            partition = TopicPartition(self._topic, self._partitions[index])
            end = int(consumer.end_offsets([partition])[partition])
        return partition, end

    def _active_groups(self) -> list[str]:
        """The reading groups that have members now."""
        admin = self._admin_client()
        with self._lock:
            described = admin.describe_groups(self._groups)
        return [g for g in self._groups if (described.get(g) or {}).get("members")]

    def _admin_client(self) -> Any:
        with self._lock:
            if self._admin is None:
                if not broker_reachable(self._bootstrap):
                    raise ConnectionError(f"no Kafka broker answers at {self._bootstrap}")
                from kafka import KafkaAdminClient

                self._admin = KafkaAdminClient(
                    bootstrap_servers=bootstrap_list(self._bootstrap),
                    client_id="users-follow-watch",
                    request_timeout_ms=2000,
                    reconnect_backoff_max_ms=1000,
                )
            return self._admin

    def _committed(self, group: str, partition: Any) -> int | None:
        consumer = self._consumer(group)
        with self._lock:
            offset = consumer.committed(partition)
        return None if offset is None else int(offset)

    def _consumer(self, group: str) -> Any:
        with self._lock:
            consumer = self._consumers.get(group)
            if consumer is None:
                if not broker_reachable(self._bootstrap):
                    raise ConnectionError(f"no Kafka broker answers at {self._bootstrap}")
                from kafka import KafkaConsumer

                # Never subscribes nor polls: it only reads the group's committed offsets.
                consumer = KafkaConsumer(
                    bootstrap_servers=bootstrap_list(self._bootstrap),
                    group_id=group,
                    client_id=f"users-follow-watch-{group}",
                    enable_auto_commit=False,
                    request_timeout_ms=2000,
                    reconnect_backoff_max_ms=1000,
                )
                self._consumers[group] = consumer
            return consumer

    def close(self) -> None:
        """Close the Kafka clients built so far; a later wait builds new ones."""
        with self._lock:
            consumers, self._consumers = self._consumers, {}
            admin, self._admin = self._admin, None
            self._partitions = []
        for client in [*consumers.values(), *([admin] if admin is not None else [])]:
            try:
                # KafkaConsumer.close commits unless told not to; the admin client's takes nothing.
                if client is admin:
                    client.close()
                else:
                    client.close(autocommit=False)
            except Exception as exc:
                log.debug("closing a watch client: %s", exc)
