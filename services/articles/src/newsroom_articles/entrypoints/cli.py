"""`newsroom-articles`: migrations, the outbox relay and the users-events consumer."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from newsroom_articles import config
from newsroom_articles.adapters.tables import outbox, processed_events
from newsroom_articles.adapters.unit_of_work import SqlReplica
from newsroom_articles.service_layer.replica import apply_users_events
from newsroom_articles.topics import ARTICLES_DLT, USERS_EVENTS, USERS_REPLICA_GROUP
from newsroom_common.consumer import ConsumerRunner
from newsroom_common.db import create_engine
from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import broker_reachable, create_producer
from newsroom_common.logs import configure_logging
from newsroom_common.migrations import upgrade
from newsroom_common.outbox import OutboxRelay
from newsroom_common.worker import StopFlag, serve_probes

MIGRATIONS = "newsroom_articles.adapters:migrations"
log = logging.getLogger("newsroom_articles.cli")


def migrate() -> None:
    """Apply the database migrations."""
    settings = config.load()
    configure_logging(service="articles-migrate", level=settings.log_level)
    upgrade(url=settings.database_url.get(), script_location=MIGRATIONS)
    log.info("migrations applied")


def relay() -> None:
    """Publish outbox rows to Kafka until SIGTERM."""
    settings = config.load()
    configure_logging(service="articles-relay", level=settings.log_level)
    stop = StopFlag().install()
    worker = OutboxRelay(
        engine=create_engine(settings, application_name="articles-relay"),
        outbox=outbox,
        producer=create_producer(settings.kafka_bootstrap_servers, client_id="articles-relay"),
    )
    serve_probes(
        settings.worker_http_port,
        live=lambda: True,
        ready=lambda: (
            broker_reachable(settings.kafka_bootstrap_servers),
            {"published": worker.stats.published, "last_error": worker.stats.last_error},
        ),
    )
    log.info("outbox relay started")
    try:
        worker.run(stop)
    finally:
        worker.close()
        log.info("outbox relay stopped")


def apply_batch(connection: Connection, events: Sequence[CloudEvent]) -> None:
    """The consumer's batch handler: users' events into the replica, on the runner's transaction."""
    apply_users_events(SqlReplica(connection), events)


def consume() -> None:
    """Keep the replica of profiles and follows from users.events.v1 until SIGTERM."""
    settings = config.load()
    configure_logging(service="articles-consume", level=settings.log_level)
    stop = StopFlag().install()
    bootstrap_servers = settings.kafka_bootstrap_servers
    runner = ConsumerRunner(
        engine=create_engine(settings, application_name="articles-consume"),
        processed_events=processed_events,
        bootstrap_servers=bootstrap_servers,
        group_id=USERS_REPLICA_GROUP,
        topics=[USERS_EVENTS],
        handler=apply_batch,
        dead_letter_topic=ARTICLES_DLT,
        producer_factory=lambda: create_producer(bootstrap_servers, client_id="articles-dlt"),
        # Fetch as soon as anything arrives: profile changes should show within a second.
        consumer_overrides={"fetch_max_wait_ms": 100},
    )
    serve_probes(
        settings.worker_http_port,
        live=lambda: True,
        ready=lambda: (
            bool(runner.stats.assigned) or broker_reachable(bootstrap_servers),
            {"processed": runner.stats.processed, "dead_lettered": runner.stats.dead_lettered},
        ),
    )
    log.info("users events consumer started")
    runner.run(stop)
    log.info("users events consumer stopped")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `newsroom-articles` command."""
    parser = argparse.ArgumentParser(prog="newsroom-articles")
    parser.add_argument("command", choices=["migrate", "relay", "consume"])
    args = parser.parse_args(argv)
    {"migrate": migrate, "relay": relay, "consume": consume}[args.command]()
