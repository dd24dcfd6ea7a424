"""Read-your-writes for follows: a follow answers once the replicas that promise it have it.

Articles keeps a replica of follows, fed by `users.events.v1`, and its feed reads only that
replica (no call to users per feed). So that a reader who just followed someone sees them in
the very next feed, the follow waits, before it answers, for: its outbox row relayed to
Kafka (the relay stamps `sent_at`), then every reading consumer group's committed offset on
the record's partition reaching the partition's end (consumers commit only after their
database commit, so a committed offset past the record means the replica holds it).

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
from sqlalchemy.engine import Engine

from newsroom_common.kafka_clients import bootstrap_list, broker_reachable

log = logging.getLogger(__name__)

# Between two looks at the outbox row or the groups' offsets.
POLL_INTERVAL_S = 0.005


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
        self._partitions: list[int] = []

    def wait_applied(self, event_id: str, *, timeout: float) -> bool:
        """True once every group has the event; False past `timeout` or without Kafka."""
        if not self._groups:
            return True
        deadline = time.monotonic() + timeout
        key = self._wait_relayed(event_id, deadline)
        if key is None:
            log.info("follow not yet relayed to Kafka when answered", extra={"event": event_id})
            return False
        try:
            partition, end = self._end_of_partition(key)
            while True:
                committed = [self._committed(group, partition) for group in self._groups]
                # A group with no offset on this partition reads none of it (its service is not
                # deployed, or not yet started): nothing to wait for. Where it reads, it has
                # committed already: the follower's own registration came first, same key.
                if all(offset is None or offset >= end for offset in committed):
                    return True
                if time.monotonic() >= deadline:
                    log.info(
                        "a replica had not applied the follow when it was answered",
                        extra={"event": event_id, "groups": self._groups},
                    )
                    return False
                self._sleep(POLL_INTERVAL_S)
        except Exception as exc:
            # Kafka away or a client that lost its broker: the follow is saved and will reach
            # the replicas; answer it rather than fail it. The next follow starts afresh.
            log.warning("cannot read the replicas' positions: %s", exc)
            self._reset()
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
        from kafka.partitioner.default import DefaultPartitioner

        consumer = self._consumer(self._groups[0])
        with self._lock:
            if not self._partitions:
                found = consumer.partitions_for_topic(self._topic)
                if not found:
                    raise LookupError(f"topic {self._topic} has no partitions")
                self._partitions = sorted(found)
            # The relay's producer places a keyed record with kafka-python's default partitioner.
            number = DefaultPartitioner()(key, self._partitions, self._partitions)
            partition = TopicPartition(self._topic, number)
            end = int(consumer.end_offsets([partition])[partition])
        return partition, end

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

    def _reset(self) -> None:
        with self._lock:
            consumers, self._consumers = self._consumers, {}
            self._partitions = []
        for consumer in consumers.values():
            try:
                consumer.close(autocommit=False)
            except Exception as exc:
                log.debug("closing a watch consumer: %s", exc)
