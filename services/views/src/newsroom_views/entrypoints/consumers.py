"""The Kafka workers: view ingestion and the article and author replicas.

`newsroom-views consume` runs one consumer group member of each group, each on its
own thread with its own KafkaConsumer: ingestion scales with the processes (up to the
partitions of `articles.views.v1`); extra replica members simply idle. Each member
serves its lag per partition as a metric and in `/readyz`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection

from newsroom_common import telemetry
from newsroom_common.consumer import BatchHandler, ConsumerRunner, prune_processed
from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import create_producer
from newsroom_common.worker import StopFlag, serve_probes
from newsroom_views.adapters.locks import hold_ingest_shared
from newsroom_views.adapters.repositories import SqlRepositories
from newsroom_views.adapters.tables import processed_events
from newsroom_views.adapters.topic_config import redelivery_horizon
from newsroom_views.bootstrap import Services
from newsroom_views.domain.events import article_of, author_of, view_of
from newsroom_views.domain.model import HOUR, dedup_window
from newsroom_views.service_layer import replica
from newsroom_views.service_layer.views import record_views

log = logging.getLogger(__name__)

# A member that has not polled for this long is stuck (a poll normally returns within 0.5 s).
STALLED_AFTER_S = 120.0


def ingest_handler(services: Services) -> BatchHandler:
    """Counts a batch of new `ArticleViewed` events in the batch's transaction."""
    retention = services.retention

    def handle(connection: Connection, events: Sequence[CloudEvent]) -> None:
        hold_ingest_shared(connection)
        views = [v for v in map(view_of, events) if v is not None]
        record_views(
            repos=SqlRepositories(connection),
            views=views,
            now=dt.datetime.now(dt.UTC),
            retention=retention,
        )

    return handle


def articles_handler(connection: Connection, events: Sequence[CloudEvent]) -> None:
    """Applies article events to the article replica, in partition (per article) order."""
    repos = SqlRepositories(connection)
    for change in (c for c in map(article_of, events) if c is not None):
        replica.apply_article(repos=repos, change=change)


def authors_handler(connection: Connection, events: Sequence[CloudEvent]) -> None:
    """Applies user events to the author-name replica."""
    repos = SqlRepositories(connection)
    for change in (c for c in map(author_of, events) if c is not None):
        replica.apply_author(repos=repos, change=change)


@dataclass
class Member:
    """One consumer group member on its own thread, with what its probes report."""

    runner: ConsumerRunner
    group: str
    every_so_often: Callable[[], None] | None = None
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    error: str | None = None
    thread: threading.Thread | None = None

    def run(self, stop: StopFlag, *, lag_refresh_s: float) -> None:
        """Poll until stopped; a crash stops the whole process, so it is restarted whole."""
        next_refresh = 0.0
        try:
            self._start(stop)
            while not stop():
                if not self.runner.connected:
                    # The broker went away (poll_once dropped the consumer): join again.
                    self._start(stop)
                    continue
                self.runner.poll_once(timeout_ms=500)
                if time.monotonic() >= next_refresh:
                    # The KafkaConsumer is not thread-safe: lag is read here, served from a copy.
                    try:
                        lag = self.runner.lag()
                        self.lag = {(tp.topic, tp.partition): n for tp, n in lag.items()}
                    except KafkaError as exc:
                        # Lag only informs probes and metrics: a broker away for longer than the
                        # offsets request's timeout must not stop counting (make chaos: a 30 s
                        # broker outage stopped every views consumer for good).
                        log.warning("cannot read the consumer lag: %s", exc)
                    if self.every_so_often is not None:
                        self.every_so_often()
                    next_refresh = time.monotonic() + lag_refresh_s
        except Exception as exc:
            log.exception("consumer stopped on an error", extra={"group": self.group})
            self.error = f"{type(exc).__name__}: {exc}"
            stop.set()
        finally:
            self.runner.close()

    def _start(self, stop: StopFlag) -> None:
        backoff = 0.25
        while not stop():
            try:
                self.runner.start()
                return
            except Exception as exc:
                # kafka-python bootstraps in the constructor: wait for the broker to come.
                log.warning("cannot reach Kafka, retrying in %.2fs: %s", backoff, exc)
                self.runner.stats.last_poll = time.monotonic()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def alive(self) -> bool:
        """True while the thread runs and keeps polling."""
        return (
            self.thread is not None
            and self.thread.is_alive()
            and time.monotonic() - self.runner.stats.last_poll < STALLED_AFTER_S
        )

    def detail(self) -> dict[str, Any]:
        """What `/readyz` says about this member."""
        stats = self.runner.stats
        return {
            "alive": self.alive(),
            "error": self.error,
            "processed": stats.processed,
            "duplicates": stats.duplicates,
            "dead_lettered": stats.dead_lettered,
            "lag": {f"{t}[{p}]": n for (t, p), n in sorted(self.lag.items())},
        }


class ConsumerMetrics(Collector):
    """Lag per partition and event counters of each member, read at scrape time."""

    def __init__(self, members: Sequence[Member]) -> None:
        self._members = members

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        lag = GaugeMetricFamily(
            "newsroom_consumer_lag",
            "Records between the group's position and the end of the partition.",
            labels=["group", "topic", "partition"],
        )
        events = CounterMetricFamily(
            "newsroom_consumer_events",
            "Events this member handled, by outcome.",
            labels=["group", "outcome"],
        )
        for m in self._members:
            for (topic, partition), n in sorted(m.lag.items()):
                lag.add_metric([m.group, topic, str(partition)], n)
            stats = m.runner.stats
            events.add_metric([m.group, "processed"], stats.processed)
            events.add_metric([m.group, "duplicate"], stats.duplicates)
            events.add_metric([m.group, "dead_lettered"], stats.dead_lettered)
        yield lag
        yield events


# Ingestion fetches: the broker holds a fetch until 64 KiB (~150 views) or 50 ms have
# gathered (200 ms made the read-to-count p99 0.45 s at 1,000 reads/s, issue 20: ≤ 0.25 s;
# at that rate 50 ms still gathers ~50 views per batch). Polling for every handful of views,
# at a few hundred a second, cost the consumer 1.9 ms of CPU per view in `make bench`; a
# batch's fixed cost (a transaction, three upserts) is now shared by many. The replicas'
# topics are quiet: their fetches answer at once.
INGEST_FETCH_MIN_BYTES = 64 << 10
INGEST_FETCH_MAX_WAIT_MS = 50


def _runner(
    services: Services,
    *,
    group: str,
    topic: str,
    handler: BatchHandler,
    max_batch: int,
    fetch_min_bytes: int = 1,
) -> ConsumerRunner:
    settings = services.settings
    return ConsumerRunner(
        engine=services.engine,
        processed_events=processed_events,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        topics=[topic],
        handler=handler,
        dead_letter_topic=settings.dead_letter_topic,
        producer_factory=lambda: create_producer(
            settings.kafka_bootstrap_servers, client_id=f"{group}-dlt"
        ),
        max_batch=max_batch,
        consumer_overrides={
            "fetch_min_bytes": fetch_min_bytes,
            "fetch_max_wait_ms": INGEST_FETCH_MAX_WAIT_MS,
            "max_partition_fetch_bytes": 4 << 20,
        },
    )


def members(services: Services) -> list[Member]:
    """The three members a `consume` process runs."""
    s = services.settings
    last_prune = [0.0]
    processed_retention: list[dt.timedelta | None] = []

    def prune() -> None:
        # Every member process prunes; the deletes are small and idempotent, so no coordination.
        if time.monotonic() - last_prune[0] < s.prune_interval_seconds:
            return
        last_prune[0] = time.monotonic()
        if not processed_retention:
            processed_retention.append(dedup_retention(services))
        prune_old(services, processed_retention=processed_retention[0])

    return [
        Member(
            _runner(
                services,
                group=s.ingest_group,
                topic=s.views_topic,
                handler=ingest_handler(services),
                max_batch=s.ingest_batch_size,
                fetch_min_bytes=INGEST_FETCH_MIN_BYTES,
            ),
            s.ingest_group,
            every_so_often=prune,
        ),
        Member(
            _runner(
                services,
                group=s.articles_replica_group,
                topic=s.articles_topic,
                handler=articles_handler,
                max_batch=500,
            ),
            s.articles_replica_group,
        ),
        Member(
            _runner(
                services,
                group=s.users_replica_group,
                topic=s.users_topic,
                handler=authors_handler,
                max_batch=500,
            ),
            s.users_replica_group,
        ),
    ]


def dedup_retention(services: Services) -> dt.timedelta | None:
    """How long processed ids are kept: the setting, raised to the views topic's horizon."""
    s = services.settings
    configured = dt.timedelta(hours=s.processed_events_retention_hours)
    try:
        horizon = redelivery_horizon(s.kafka_bootstrap_servers, s.views_topic)
    except Exception as exc:
        # Unknown horizon: the setting stands (it is documented to cover Kafka's defaults).
        log.warning("cannot read the views topic's retention: %s", exc)
        return configured
    window = dedup_window(configured, horizon)
    if window != configured:
        log.warning(
            "processed event ids kept longer than configured: the views topic can redeliver "
            "records for that long",
            extra={"configured_hours": configured / HOUR, "kept_hours": window and window / HOUR},
        )
    return window


def prune_old(services: Services, *, processed_retention: dt.timedelta | None) -> None:
    """Drop processed event ids and buckets past their retention."""
    now = dt.datetime.now(dt.UTC)
    try:
        ids = 0
        if processed_retention is not None:
            ids = prune_processed(
                services.engine,
                processed_events,
                older_than_s=int(processed_retention.total_seconds()),
            )
        with services.engine.begin() as connection:
            buckets = SqlRepositories(connection).counts.prune(
                minutes_before=now - services.retention.minutes,
                hours_before=now - services.retention.hours,
            )
        log.info("pruned", extra={"processed_events": ids, "buckets": buckets})
    except Exception:
        # Pruning is housekeeping: a failure waits for the next round, counting goes on.
        log.exception("pruning failed")


def run(services: Services, stop: StopFlag) -> int:
    """Run every member until stopped; return the exit status (1 if a member crashed)."""
    s = services.settings
    # After bootstrap: the engine built there is instrumented once tracing starts.
    telemetry.init_worker_tracing("views-consume")
    running = members(services)
    registry = CollectorRegistry()
    registry.register(ConsumerMetrics(running))

    def ready() -> tuple[bool, dict[str, object]]:
        ok = all(m.alive() for m in running)
        return ok, {"groups": {m.group: m.detail() for m in running}}

    server = serve_probes(
        s.worker_http_port,
        # Liveness is only "the threads run": a member stuck retrying a database that is down
        # would not be cured by a restart, so it only turns unready.
        live=lambda: all(m.thread is not None and m.thread.is_alive() for m in running),
        ready=ready,
        metrics=lambda: generate_latest(registry),
    )
    for m in running:
        m.thread = threading.Thread(
            target=m.run, args=(stop,), kwargs={"lag_refresh_s": s.lag_refresh_seconds}
        )
        m.thread.name = m.group
        m.thread.start()
    log.info("consumers started", extra={"groups": [m.group for m in running]})
    while not stop.wait(1.0):
        pass
    for m in running:
        assert m.thread is not None
        m.thread.join(timeout=30)
    if server is not None:
        server.shutdown()
    failed = [m.group for m in running if m.error]
    log.info("consumers stopped", extra={"failed": failed})
    return 1 if failed else 0
