"""Prometheus metrics that stay correct with several gunicorn workers.

gunicorn workers are separate processes, so each writes its samples to files
in PROMETHEUS_MULTIPROC_DIR and `/metrics` sums them. prometheus_client picks
its storage when first imported, so the gunicorn master sets that variable
(`gunicorn_config`) before anything imports this module; worker processes
(relays, consumers) are single processes and use the default registry.
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from sqlalchemy import event
from sqlalchemy.engine import Engine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "newsroom_http_requests_total",
    "HTTP requests answered, by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "newsroom_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DB_POOL_IN_USE = Gauge(
    "newsroom_db_pool_connections_in_use",
    "Database connections checked out of the pool",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "newsroom_db_pool_connections_capacity",
    "Pool size plus overflow: the most connections the pool will open",
    ["pool"],
    multiprocess_mode="livesum",
)


def render() -> bytes:
    """The exposition text of this process, or of every worker in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def install_http_metrics(app: Flask, *, service: str) -> None:
    """Count and time every request by its route template; serve `/metrics`."""

    def start() -> None:
        g.metrics_started = time.perf_counter()

    def finish(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            # The template, not the path: one series per route, not per slug.
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
            HTTP_DURATION.labels(service, request.method, route).observe(
                time.perf_counter() - started
            )
        return response

    app.before_request(start)
    app.after_request(finish)
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics() -> Response:
        return Response(
            render(),
            mimetype=CONTENT_TYPE_LATEST.split(";")[0],
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    app.register_blueprint(bp)


def instrument_pool(engine: Engine, *, pool_name: str) -> None:
    """Track connections in use and the pool's capacity."""
    pool: Any = engine.pool
    capacity = pool.size() + max(0, getattr(pool, "_max_overflow", 0))
    DB_POOL_CAPACITY.labels(pool_name).set(capacity)

    @event.listens_for(engine, "checkout")
    def _checkout(*_: Any) -> None:
        DB_POOL_IN_USE.labels(pool_name).inc()

    @event.listens_for(engine, "checkin")
    def _checkin(*_: Any) -> None:
        DB_POOL_IN_USE.labels(pool_name).dec()


# Worker processes (one process each: the default registry is exact).
OUTBOX_PUBLISHED = Counter(
    "newsroom_outbox_published_total", "Outbox rows published to Kafka", ["service"]
)
OUTBOX_BACKLOG = Gauge(
    "newsroom_outbox_backlog",
    "Outbox rows not yet published",
    ["service"],
    multiprocess_mode="max",
)
OUTBOX_OLDEST_AGE = Gauge(
    "newsroom_outbox_oldest_unsent_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none)",
    ["service"],
    multiprocess_mode="max",
)
CONSUMER_PROCESSED = Counter(
    "newsroom_consumer_events_processed_total",
    "Events applied (duplicates excluded)",
    ["group"],
)
CONSUMER_DUPLICATES = Counter(
    "newsroom_consumer_events_duplicate_total",
    "Events skipped because their id was already processed",
    ["group"],
)
CONSUMER_DEAD_LETTERED = Counter(
    "newsroom_consumer_events_dead_lettered_total",
    "Events sent to the dead-letter topic",
    ["group"],
)
CONSUMER_LAG = Gauge(
    "newsroom_consumer_lag",
    "Records between the consumer's position and the end of the partition",
    ["group", "topic", "partition"],
    multiprocess_mode="max",
)
