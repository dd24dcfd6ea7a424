"""The outbox relay: publishes rows the unit of work wrote, in order, at least once.

Several relays may run. Each batch is claimed with `FOR UPDATE SKIP LOCKED`
inside a transaction that also holds an advisory lock, so at any moment one
relay publishes and per-key order holds across relays; the others wait their
turn instead of blocking on row locks. The event id is stored with the row, so
a retry after a crash republishes the same id and consumers deduplicate it.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from kafka import KafkaProducer
from sqlalchemy.engine import Engine

from newsroom_common import metrics, telemetry
from newsroom_common.backoff import Backoff
from newsroom_common.uow import OUTBOX_CHANNEL

log = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key shared by every relay of one database.
RELAY_LOCK_KEY = 0x6E657773  # "news"


@dataclass
class RelayStats:
    """Counters a relay keeps for its metrics and tests."""

    published: int = 0
    failed: int = 0
    batches: int = 0
    last_error: str | None = None


class OutboxRelay:
    """Moves outbox rows to Kafka."""

    def __init__(
        self,
        *,
        engine: Engine,
        outbox: sa.Table,
        producer_factory: Callable[[], KafkaProducer],
        batch_size: int = 500,
        poll_interval: float = 1.0,
        send_timeout: float = 10.0,
        sent_retention_seconds: int = 24 * 3600,
        name: str = "outbox",
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._send_timeout = send_timeout
        self._retention = sent_retention_seconds
        self._listener: Any = None
        self._last_cleanup = 0.0
        self._last_backlog_check = float("-inf")
        self._name = name
        self.stats = RelayStats()

    def relay_once(self) -> int:
        """Publish one batch; return how many rows were sent (0: nothing to do or not our turn)."""
        o = self._outbox
        with self._engine.begin() as conn:
            if not conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY))):
                return 0
            rows = conn.execute(
                sa.select(o.c.id, o.c.topic, o.c.key, o.c.headers, o.c.payload)
                .where(o.c.sent_at.is_(None))
                .order_by(o.c.id)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                self._cleanup(conn)
                return 0
            # One span per published batch; each message's own PRODUCER span is a child of
            # the request that wrote it (its stored traceparent) and links to this one.
            with telemetry.tracer.start_as_current_span(
                "outbox relay", attributes={"newsroom.outbox.rows": len(rows)}
            ):
                futures: list[tuple[Any, Any]] = []
                error: str | None = None
                # Built on first use: kafka-python bootstraps in the constructor, which fails
                # while the broker is away; the run loop then backs off and tries again.
                producer = self._producer = self._producer or self._producer_factory()
                for row in rows:
                    try:
                        future = telemetry.send_traced(
                            producer,
                            row.topic,
                            key=row.key.encode(),
                            value=orjson.dumps(row.payload),
                            headers=[(k, v.encode()) for k, v in row.headers.items()],
                            attributes={"newsroom.outbox.id": row.id},
                        )
                    except Exception as exc:  # broker unreachable: keep the rest for the next try
                        error = f"{type(exc).__name__}: {exc}"
                        break
                    futures.append((row, future))
                try:
                    producer.flush(timeout=self._send_timeout)
                except Exception as exc:
                    error = error or f"{type(exc).__name__}: {exc}"
                sent: list[int] = []
                failed: list[int] = []
                failed_keys: set[str] = set()
                for row, future in futures:
                    ok = future.is_done and future.succeeded()
                    # A later row of a key that failed must not be marked sent ahead of it.
                    if ok and row.key not in failed_keys:
                        sent.append(row.id)
                    else:
                        failed.append(row.id)
                        failed_keys.add(row.key)
                        if not ok and future.is_done and future.exception is not None:
                            error = (
                                error or f"{type(future.exception).__name__}: {future.exception}"
                            )
                failed.extend(r.id for r in rows[len(futures) :])
                if sent:
                    conn.execute(o.update().where(o.c.id.in_(sent)).values(sent_at=sa.func.now()))
                if failed:
                    conn.execute(
                        o.update()
                        .where(o.c.id.in_(failed))
                        .values(attempts=o.c.attempts + 1, last_error=error or "not acknowledged")
                    )
        self.stats.batches += 1
        self.stats.published += len(sent)
        metrics.OUTBOX_PUBLISHED.labels(self._name).inc(len(sent))
        self.stats.failed += len(failed)
        if failed:
            self.stats.last_error = error
            raise RelayError(error or "not acknowledged")
        return len(sent)

    def _observe_backlog(self) -> None:
        """Refresh the backlog gauges, at most every five seconds."""
        now = time.monotonic()
        if now - self._last_backlog_check < 5:
            return
        self._last_backlog_check = now
        o = self._outbox
        with self._engine.connect() as conn:
            count, oldest_age = conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(
                        sa.func.extract("epoch", sa.func.now() - sa.func.min(o.c.created_at)), 0
                    ),
                ).where(o.c.sent_at.is_(None))
            ).one()
        metrics.OUTBOX_BACKLOG.labels(self._name).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self._name).set(float(oldest_age))

    def _cleanup(self, conn: sa.Connection) -> None:
        """Delete rows sent longer ago than the retention, at most once a minute."""
        now = time.monotonic()
        if now - self._last_cleanup < 60:
            return
        self._last_cleanup = now
        o = self._outbox
        conn.execute(
            o.delete().where(
                o.c.sent_at < sa.func.now() - sa.text(f"interval '{int(self._retention)} seconds'")
            )
        )

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Relay until `should_stop()`; back off while Kafka or the database is away."""
        backoff = Backoff(first_s=0.25, cap_s=5.0)
        while not should_stop():
            try:
                self._observe_backlog()
                sent = self.relay_once()
                backoff.reset()
            except Exception as exc:
                log.warning("outbox relay failed, retrying: %s", exc)
                self._close_listener()
                if not isinstance(exc, sa.exc.SQLAlchemyError):
                    # A producer that saw its broker vanish may keep stale state for good (after
                    # a broker SIGKILL and restart kafka-python's idempotent sender never
                    # completes a send again: "Timeout waiting for future" every batch, found by
                    # make chaos): the next batch gets a fresh one, as the event buffer does.
                    self._close_producer()
                backoff.wait(should_stop)
                continue
            if sent < self._batch_size:
                self._wait_for_notify()

    def _wait_for_notify(self) -> None:
        """Sleep until a commit notifies the channel, or the poll interval passes."""
        try:
            if self._listener is None:
                raw = self._engine.raw_connection()
                raw.driver_connection.autocommit = True  # type: ignore[union-attr]
                with raw.driver_connection.cursor() as cur:  # type: ignore[union-attr]
                    cur.execute(f"LISTEN {OUTBOX_CHANNEL}")
                self._listener = raw
            conn = self._listener.driver_connection
            if select.select([conn], [], [], self._poll_interval) != ([], [], []):
                conn.poll()
                conn.notifies.clear()
        except Exception:
            # The poll interval alone still moves rows; the listener reconnects later.
            self._close_listener()
            time.sleep(self._poll_interval)

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.invalidate()
            except Exception:
                log.debug("closing the outbox listener failed", exc_info=True)
            self._listener = None

    def close(self) -> None:
        """Release the listener connection and flush the producer."""
        self._close_listener()
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None

    def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:
                log.debug("closing the outbox producer failed", exc_info=True)


class RelayError(RuntimeError):
    """Some rows of a batch were not acknowledged by Kafka; they stay unsent."""
