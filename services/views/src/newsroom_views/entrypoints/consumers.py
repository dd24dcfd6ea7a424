"""The views consumers: view ingestion and the article and author replicas.

`newsroom-views consume` runs one consumer group member of each group through the
platform's consumer runtime (`newsroom_common.worker_runtime.run_consumers`): ingestion scales
with the processes (up to the partitions of `articles.views.v1`); extra replica members
simply idle. This module only says which topics feed which use case.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Connection

from newsroom_common.consumer import BatchHandler, ConsumerRunner
from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import create_producer
from newsroom_common.worker_runtime import run_consumers
from newsroom_views.adapters.locks import hold_ingest_shared
from newsroom_views.adapters.repositories import SqlRepositories
from newsroom_views.adapters.tables import processed_events
from newsroom_views.bootstrap import Services
from newsroom_views.domain.consumed_events import article_of, author_of, view_of
from newsroom_views.service_layer import replica
from newsroom_views.service_layer.views import record_views

log = logging.getLogger(__name__)


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


# Ingestion fetches: the broker holds a fetch until 64 KiB (~150 views) or 50 ms have
# gathered (200 ms made the read-to-count p99 0.45 s at 1,000 reads/s, issue 20: ≤ 0.25 s;
# at that rate 50 ms still gathers ~50 views per batch). Polling for every handful of views,
# at a few hundred a second, cost the consumer 1.9 ms of CPU per view in `make bench`; a
# batch's fixed cost (a transaction, three upserts) is now shared by many. The replicas'
# topics are quiet and their fetches ask for any byte, so the broker answers one as soon as a
# record arrives: how long it holds an empty one changes no latency, only how often an idle
# consumer asks again. Kafka's default 500 ms, not 50 ms, took an idle consumer process from
# 70-90m of CPU to 36-44m (20 empty fetches a second per group cost more than the views).
INGEST_FETCH_MIN_BYTES = 64 << 10
INGEST_FETCH_MAX_WAIT_MS = 50
REPLICA_FETCH_MAX_WAIT_MS = 500


def _runner(
    services: Services,
    *,
    group: str,
    topic: str,
    handler: BatchHandler,
    max_batch: int,
    fetch_min_bytes: int = 1,
    fetch_max_wait_ms: int = REPLICA_FETCH_MAX_WAIT_MS,
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
            "fetch_max_wait_ms": fetch_max_wait_ms,
            "max_partition_fetch_bytes": 4 << 20,
        },
        lag_refresh_s=settings.lag_refresh_seconds,
    )


def runners(services: Services) -> list[ConsumerRunner]:
    """The three group members a `consume` process runs."""
    s = services.settings
    return [
        _runner(
            services,
            group=s.ingest_group,
            topic=s.views_topic,
            handler=ingest_handler(services),
            max_batch=s.ingest_batch_size,
            fetch_min_bytes=INGEST_FETCH_MIN_BYTES,
            fetch_max_wait_ms=INGEST_FETCH_MAX_WAIT_MS,
        ),
        _runner(
            services,
            group=s.articles_replica_group,
            topic=s.articles_topic,
            handler=articles_handler,
            max_batch=500,
        ),
        _runner(
            services,
            group=s.users_replica_group,
            topic=s.users_topic,
            handler=authors_handler,
            max_batch=500,
        ),
    ]


def housekeeping(services: Services) -> Callable[[], None]:
    """Pruning, as the consumer runtime runs it every `prune_interval_seconds`."""
    # Every consume process prunes; the deletes are small and idempotent: no coordination.
    return services.pruner()


def run(services: Services) -> int:
    """Run every member until SIGTERM; return the exit status (1 if a member crashed)."""
    return run_consumers(
        name="views-consume",
        settings=services.settings,
        runners=runners(services),
        housekeeping=housekeeping(services),
        housekeeping_interval_s=services.settings.prune_interval_seconds,
    )
