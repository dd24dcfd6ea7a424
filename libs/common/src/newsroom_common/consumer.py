"""The consumer runner: exactly-once effect on top of Kafka's at-least-once delivery.

For each polled batch, one database transaction records the event ids in
`processed_events` (skipping ids already there) and applies the handler to the
new events; offsets are committed only after that transaction commits. A
crash anywhere replays the batch, and the replay changes nothing.

Batches are pipelined one deep: a batch's transaction runs on the member's applier
thread while the member polls and decodes the next one, so the database's time and
Kafka's overlap instead of adding up (make bench-views: 16% more views a second,
docs/benchmark). Batches are still applied one at a time, in the order they were polled, and
a batch's offsets are committed, by the polling thread (the Kafka consumer is not
shared), only once its transaction has committed.

A batch that fails is retried event by event; an event that keeps failing, or
that is not a CloudEvent at all, goes to the dead-letter topic and the
partition moves on. A database that is down is not a poison message: the
runner waits and retries the same batch, and gives up on it (uncommitted, so it is
replayed) as soon as the process is asked to stop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from newsroom_common import metrics, telemetry
from newsroom_common.backoff import Backoff, ShouldStop
from newsroom_common.events import CloudEvent, MalformedEvent
from newsroom_common.kafka_clients import KafkaUnavailable, bootstrap_list, broker_reachable

log = logging.getLogger(__name__)

# How long a closing member waits for its last offset commit (inside the process's stop budget).
COMMIT_ON_CLOSE_TIMEOUT_MS = 5000
# While a batch is applied the member polls in slices this long (see `_poll`).
IN_FLIGHT_POLL_MS = 10


class BatchHandler(Protocol):
    """Applies new (never seen) events inside the batch's transaction."""

    def __call__(self, connection: Connection, events: Sequence[CloudEvent], /) -> None: ...


class Received(NamedTuple):
    """One Kafka record with its decoded event (or why it could not be decoded).

    A named tuple, not a frozen dataclass: one is built per record, in a quarter of the time.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    event: CloudEvent | None
    error: str | None


@dataclass
class ConsumerStats:
    """Counters for metrics and tests."""

    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    assigned: set[TopicPartition] = field(default_factory=set)
    # Records behind per partition, keyed "topic[partition]" (served in /readyz).
    lag: dict[str, int] = field(default_factory=dict)
    # When the member last polled or tried to reach its broker (liveness of its loop).
    last_poll: float = field(default_factory=time.monotonic)


def is_transient(exc: BaseException) -> bool:
    """True for failures that retrying the same batch later can cure (database away)."""
    return isinstance(
        exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
    ) or (isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated)


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tracks assigned partitions; never commits here (offsets are committed after each batch)."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._runner.stats.assigned.difference_update(revoked)
        # Their next owner commits them from now on; a late commit of ours would undo its own.
        for tp in revoked:
            self._runner._committing.pop(tp, None)
        # Another member owns them now: their lag is its to report, not ours.
        self._runner._forget_lag(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._runner.stats.assigned.update(assigned)
        # Read the new partitions' lag at the next poll rather than a refresh period later.
        self._runner._last_lag_check = float("-inf")


class ConsumerRunner:
    """Runs one consumer group member until told to stop."""

    def __init__(
        self,
        *,
        engine: Engine,
        processed_events: sa.Table,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        handler: BatchHandler,
        dead_letter_topic: str,
        producer_factory: Callable[[], KafkaProducer],
        max_batch: int = 500,
        max_attempts: int = 3,
        consumer_overrides: dict[str, Any] | None = None,
        lag_refresh_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._processed = processed_events
        self._group_id = group_id
        self._topics = list(topics)
        self._handler = handler
        self._dlt = dead_letter_topic
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._max_batch = max_batch
        self._max_attempts = max_attempts
        self._lag_refresh_s = lag_refresh_s
        self._should_stop: ShouldStop = lambda: False
        self.stats = ConsumerStats()
        # Series at 0 from the start: "nothing dead-lettered yet" is a value, not a gap.
        for counter in (
            metrics.CONSUMER_PROCESSED,
            metrics.CONSUMER_DUPLICATES,
            metrics.CONSUMER_DEAD_LETTERED,
        ):
            counter.labels(group_id)
        config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_list(bootstrap_servers),
            "group_id": group_id,
            "client_id": group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": max_batch,
            "session_timeout_ms": 10000,
            "heartbeat_interval_ms": 3000,
            "max_poll_interval_ms": 300000,
            "reconnect_backoff_max_ms": 1000,
            # A topic (or partitions) that appears after the subscription is seen at the next
            # metadata refresh; kafka-python's default of 5 minutes leaves a member idle that long.
            "metadata_max_age_ms": 15000,
        }
        config.update(consumer_overrides or {})
        self._config = config
        self.consumer: KafkaConsumer | None = None
        # The latest offsets sent (asynchronously) per partition owned: committed once more,
        # waiting for the answer, when the member closes.
        self._committing: dict[TopicPartition, OffsetAndMetadata] = {}
        # The applier thread (started on the first batch, after any fork) and the batch it
        # is applying: its records, and the future saying whether it was applied.
        self._applier: ThreadPoolExecutor | None = None
        self._in_flight: tuple[Future[bool], list[Received]] | None = None
        self._uncommitted = (0, 0)
        self._last_lag_check = float("-inf")
        # Partitions this member exports a lag series for: exactly those it is assigned.
        self._lag_series: set[TopicPartition] = set()

    @property
    def group_id(self) -> str:
        """The consumer group this runner is a member of."""
        return self._group_id

    @property
    def topics(self) -> list[str]:
        """The topics this runner consumes."""
        return list(self._topics)

    # -- the loop -----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and subscribe (call after forking)."""
        if not broker_reachable(",".join(self._config["bootstrap_servers"])):
            raise KafkaUnavailable(
                f"no Kafka broker answers at {self._config['bootstrap_servers']}"
            )
        self.consumer = KafkaConsumer(**self._config)
        self.consumer.subscribe(self._topics, listener=_Assignments(self))

    def run(self, should_stop: ShouldStop) -> None:
        """Poll, process and commit until `should_stop()`; then leave the group cleanly."""
        self._should_stop = should_stop
        # Joining the group: kafka-python bootstraps in the constructor, so a broker that is
        # away fails `start`; one that answers connections but fails polls drops the consumer
        # in `poll_once`. Either way the member joins again after a growing, jittered pause.
        joining = Backoff(first_s=0.25, cap_s=5.0)
        try:
            while not should_stop():
                if self.consumer is None:
                    try:
                        self.start()
                    except Exception as exc:
                        log.warning("cannot reach Kafka, retrying: %s", exc)
                        # Waiting for the broker is the loop working, not a stalled member.
                        self.stats.last_poll = time.monotonic()
                        joining.wait(should_stop)
                        continue
                self.poll_once(timeout_ms=500)
                if self.consumer is None:
                    joining.wait(should_stop)
                else:
                    joining.reset()
        finally:
            self.close()

    @property
    def connected(self) -> bool:
        """True while a consumer is in place (False before `start` and after a lost broker)."""
        return self.consumer is not None

    def poll_once(self, *, timeout_ms: int = 500) -> int:
        """Poll one batch and hand it to the applier; return the number of records seen.

        The batch handed over before is settled first (waited for, its offsets committed),
        so when this returns every batch but the one now in flight is applied and committed.
        """
        assert self.consumer is not None
        try:
            polled = self._poll(timeout_ms)
        except KafkaError as exc:
            # kafka-python raises a lost broker from poll (its heartbeat's failed coordinator
            # lookup, for one): leave this consumer and join again once the broker answers
            # (`start`). The batch in flight is finished but cannot be committed: the rejoined
            # member replays what was not committed, and dedup absorbs it.
            log.warning("lost the Kafka broker, joining again once it answers: %s", exc)
            self._settle(commit=False)
            self._drop_consumer()
            return 0
        self.stats.last_poll = time.monotonic()
        self._observe_lag()
        records = [self._decode(r) for batch in polled.values() for r in batch]
        self._settle()
        if records:
            if self._applier is None:
                self._applier = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"{self._group_id}-apply"
                )
            self._in_flight = (self._applier.submit(self._apply_batch, records), records)
        return len(records)

    def _poll(self, timeout_ms: int) -> Any:
        """Poll; while a batch is in flight, return once it is applied, records or not.

        Polling in short slices then settles a batch (its offsets, its counts) at most one
        slice after its transaction, rather than whenever the next records arrive.
        """
        assert self.consumer is not None
        if self._in_flight is None:
            return self.consumer.poll(timeout_ms=timeout_ms, max_records=self._max_batch)
        future = self._in_flight[0]
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            polled = self.consumer.poll(
                timeout_ms=min(IN_FLIGHT_POLL_MS, timeout_ms), max_records=self._max_batch
            )
            if polled or future.done() or time.monotonic() >= deadline:
                return polled

    def _settle(self, *, commit: bool = True) -> None:
        """Wait for the batch in flight; commit its offsets if its transaction committed.

        The handler's own error (not a database away) is raised here: it stops the member.
        """
        if self._in_flight is None:
            return
        future, records = self._in_flight
        self._in_flight = None
        if future.result() and commit:
            self._commit_offsets(records)
            self.stats.batches += 1

    def _apply_batch(self, records: Sequence[Received]) -> bool:
        """Apply one batch (on the applier thread); False when given up on to stop.

        A database that is down is waited for and the same batch retried; a stop request
        gives up on it, uncommitted, so the next owner of its partitions replays it and
        dedup absorbs what was applied.
        """
        retry = Backoff(first_s=0.25, cap_s=5.0)
        while True:
            try:
                self._process(records)
                return True
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("database unavailable, retrying the batch: %s", exc)
                if retry.wait(self._should_stop):
                    log.warning("stopping with a batch of %d not applied", len(records))
                    return False

    # -- processing ---------------------------------------------------------------------------

    def _decode(self, record: Any) -> Received:
        headers = [(k, v) for k, v in (record.headers or []) if v is not None]
        try:
            event: CloudEvent | None = CloudEvent.from_kafka(headers, record.value)
            error = None
        except MalformedEvent as exc:
            event, error = None, str(exc)
        return Received(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            headers,
            event,
            error,
        )

    def _process(self, records: Sequence[Received]) -> None:
        good = [r for r in records if r.event is not None]
        for bad in (r for r in records if r.event is None):
            self._dead_letter(bad, bad.error or "malformed")
        if not good:
            return
        try:
            with self._span(good), self._engine.begin() as conn:
                self._apply(conn, good)
            self._count()
            return
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch of %d failed, retrying one by one: %s", len(good), exc)
        for record in good:
            self._process_alone(record)

    def _process_alone(self, record: Received) -> None:
        error = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                with self._span([record]), self._engine.begin() as conn:
                    self._apply(conn, [record])
                self._count()
                return
            except Exception as exc:
                if is_transient(exc):
                    raise
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "event %s failed (attempt %d): %s",
                    record.event and record.event.id,
                    attempt,
                    error,
                )
                time.sleep(0.05 * attempt)
        self._dead_letter(record, error)
        # Record it as processed so a replay does not dead-letter it a second time.
        assert record.event is not None
        with self._engine.begin() as conn:
            self._claim(conn, [record.event.id])

    def _apply(self, conn: Connection, records: Sequence[Received]) -> None:
        self._uncommitted = (0, 0)
        events = [r.event for r in records if r.event is not None]
        fresh_ids = self._claim(conn, [e.id for e in events])
        seen: set[str] = set()
        fresh: list[CloudEvent] = []
        for event in events:
            # The same id twice in one batch (a producer retry) counts once.
            if event.id in fresh_ids and event.id not in seen:
                seen.add(event.id)
                fresh.append(event)
        if fresh:
            self._handler(conn, fresh)
        # Counted only once the transaction commits (see _count).
        self._uncommitted = (len(fresh), len(events) - len(fresh))

    def _count(self) -> None:
        processed, duplicates = self._uncommitted
        self._uncommitted = (0, 0)
        self.stats.processed += processed
        self.stats.duplicates += duplicates
        metrics.CONSUMER_PROCESSED.labels(self._group_id).inc(processed)
        metrics.CONSUMER_DUPLICATES.labels(self._group_id).inc(duplicates)

    def _claim(self, conn: Connection, event_ids: Sequence[str]) -> set[str]:
        """Insert ids not processed before; return those that were new."""
        if not event_ids:
            return set()
        table = self._processed
        # One array parameter, not a VALUES row per id: the statement is compiled once and
        # a batch of thousands of ids costs one round trip.
        ids = sa.func.unnest(sa.bindparam("ids", type_=pg.ARRAY(sa.Text)))
        stmt = (
            pg_insert(table)
            .from_select(["consumer", "event_id"], sa.select(sa.literal(self._group_id), ids))
            .on_conflict_do_nothing()
            .returning(table.c.event_id)
        )
        return set(conn.scalars(stmt, {"ids": list(dict.fromkeys(event_ids))}))

    def _span(self, records: Sequence[Received]) -> Any:
        # Child of the first message's send, linked to the others' (telemetry explains why).
        return telemetry.consumer_batch_span(
            topic=records[0].topic,
            group=self._group_id,
            message_headers=[r.headers for r in records],
        )

    def _dead_letter(self, record: Received, error: str) -> None:
        if self._producer is None:
            self._producer = self._producer_factory()
        headers = [
            *record.headers,
            ("dlt_original_topic", record.topic.encode()),
            ("dlt_original_partition", str(record.partition).encode()),
            ("dlt_original_offset", str(record.offset).encode()),
            ("dlt_consumer_group", self._group_id.encode()),
            ("dlt_error", error[:1000].encode()),
        ]
        # Synchronous: the offset moves past this record only once it is safe in the DLT.
        self._producer.send(self._dlt, key=record.key, value=record.value, headers=headers).get(
            timeout=15
        )
        self.stats.dead_lettered += 1
        metrics.CONSUMER_DEAD_LETTERED.labels(self._group_id).inc()
        log.error(
            "event dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error": error,
            },
        )

    def _commit_offsets(self, records: Sequence[Received]) -> None:
        """Send the batch's offsets without waiting for the broker's answer.

        They are sent only once the batch's transaction committed, as before; waiting for the
        answer cost 12 ms a batch (make bench-views) for nothing the next batch needs. A commit
        that fails (a rebalance, a broker away) is logged, and its batch is replayed by
        whoever owns the partition next, which dedup absorbs; the partition's next commit
        supersedes it. `close` commits the latest offsets once more and waits for that one.
        """
        assert self.consumer is not None
        last: dict[tuple[str, int], int] = {}
        for r in records:
            last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
        # Only partitions still ours: one lost in a rebalance while its batch was applied is
        # replayed by its new owner (dedup absorbs it), whose commits ours must not undo.
        owned = self.consumer.assignment()
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for (topic, partition), offset in last.items():
            tp = TopicPartition(topic, partition)
            if tp in owned:
                offsets[tp] = OffsetAndMetadata(offset + 1, "", -1)
        if not offsets:
            return
        self._committing.update(offsets)
        try:
            self.consumer.commit_async(offsets, callback=_log_failed_commit)
        except Exception as exc:
            log.warning("offset commit failed: %s", exc)

    def _commit_latest(self) -> None:
        """Commit the latest offsets once more and wait for it (closing).

        `_committing` holds only partitions still owned: a commit adds only those, and the
        rebalance listener drops the ones revoked.
        """
        assert self.consumer is not None
        offsets, self._committing = self._committing, {}
        if not offsets:
            return
        try:
            self.consumer.commit(offsets, timeout_ms=COMMIT_ON_CLOSE_TIMEOUT_MS)
        except Exception as exc:
            # The member leaves anyway: whoever owns these partitions next replays from the
            # last commit that succeeded, and dedup absorbs what was applied since.
            log.warning("final offset commit failed: %s", exc)

    def _observe_lag(self) -> None:
        """Refresh the lag gauges and stats, at most every `lag_refresh_s` (it asks the broker)."""
        now = time.monotonic()
        if now - self._last_lag_check < self._lag_refresh_s:
            return
        self._last_lag_check = now
        try:
            lags = self.lag()
        except Exception as exc:
            # Lag only informs probes and metrics: a broker slow to answer the offsets request
            # must not stop counting (make chaos: a 30 s broker outage once stopped consumers).
            log.warning("cannot read the consumer lag: %s", exc)
            return
        # A partition no longer assigned (a rebalance the listener did not report, say) keeps
        # no series: the last lag it showed would stay on the dashboard and fire alerts.
        self._forget_lag(self._lag_series - lags.keys())
        self.stats.lag = {f"{tp.topic}[{tp.partition}]": n for tp, n in sorted(lags.items())}
        for tp, behind in lags.items():
            metrics.CONSUMER_LAG.labels(self._group_id, tp.topic, str(tp.partition)).set(behind)
        self._lag_series = set(lags)

    def _forget_lag(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop the lag series and `/readyz` lag of partitions this member no longer owns."""
        for tp in list(partitions):
            metrics.CONSUMER_LAG.remove(self._group_id, tp.topic, str(tp.partition))
            self.stats.lag.pop(f"{tp.topic}[{tp.partition}]", None)
            self._lag_series.discard(tp)

    def lag(self) -> dict[TopicPartition, int]:
        """Records behind the end of each assigned partition (for metrics and /readyz)."""
        if self.consumer is None:
            return {}
        assigned = list(self.consumer.assignment())
        if not assigned:
            return {}
        ends = self.consumer.end_offsets(assigned)
        return {tp: max(0, ends[tp] - self.consumer.position(tp)) for tp in assigned}

    def _drop_consumer(self) -> None:
        consumer, self.consumer = self.consumer, None
        self._committing.clear()
        self.stats.assigned.clear()
        # The group gives these partitions to other members (or back to us, once rejoined).
        self._forget_lag(set(self._lag_series))
        self.stats.lag = {}
        if consumer is not None:
            try:
                consumer.close(autocommit=False)
            except Exception as exc:
                log.debug("closing a consumer that lost its broker: %s", exc)

    def close(self) -> None:
        """Finish the batch in flight, commit the latest offsets, leave the group, close."""
        try:
            if self.consumer is not None:
                self._settle()
        finally:
            self._in_flight = None
            if self._applier is not None:
                self._applier.shutdown(wait=True)
                self._applier = None
            self._close_clients()

    def _close_clients(self) -> None:
        self._forget_lag(set(self._lag_series))
        self.stats.lag = {}
        if self.consumer is not None:
            try:
                self._commit_latest()
            finally:
                self.consumer.close(autocommit=False)
                self.consumer = None
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


def _log_failed_commit(offsets: Any, response: Any) -> None:
    """commit_async's callback (run by a later poll): only a failure has anything to say."""
    if isinstance(response, Exception):
        log.warning("offset commit failed: %s", response)


def prune_processed(engine: Engine, processed_events: sa.Table, *, older_than_s: int) -> int:
    """Delete processed ids older than the retention window; return how many."""
    with engine.begin() as conn:
        result = conn.execute(
            processed_events.delete().where(
                processed_events.c.processed_at
                < sa.func.now() - sa.text(f"interval '{int(older_than_s)} seconds'")
            )
        )
        return int(result.rowcount or 0)
