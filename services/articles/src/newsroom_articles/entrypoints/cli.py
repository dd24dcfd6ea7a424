"""`newsroom-articles`: migrations, the outbox relay and the users-events consumer."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from newsroom_articles import config
from newsroom_articles.adapters.tables import outbox, processed_events
from newsroom_articles.adapters.unit_of_work import SqlReplica
from newsroom_articles.service_layer.replica import apply_users_events
from newsroom_articles.topics import ARTICLES_DLT, USERS_EVENTS, USERS_REPLICA_GROUP
from newsroom_common.config import exit_on_settings_error
from newsroom_common.consumer import ConsumerRunner
from newsroom_common.db import create_engine
from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import create_producer
from newsroom_common.logs import configure_logging
from newsroom_common.migrations import upgrade
from newsroom_common.worker_runtime import run_consumers, run_outbox_relay

MIGRATIONS = "newsroom_articles.adapters:migrations"
log = logging.getLogger("newsroom_articles.cli")


def migrate() -> int:
    """Apply the database migrations."""
    settings = config.load()
    configure_logging(service="articles-migrate", level=settings.log_level)
    upgrade(url=settings.database_url.get(), script_location=MIGRATIONS)
    log.info("migrations applied")
    return 0


def relay() -> int:
    """Publish outbox rows to Kafka until SIGTERM."""
    run_outbox_relay(service="articles", settings=config.load(), outbox=outbox)
    return 0


def apply_batch(connection: Connection, events: Sequence[CloudEvent]) -> None:
    """The consumer's batch handler: users' events into the replica, on the runner's transaction."""
    apply_users_events(SqlReplica(connection), events)


def consume() -> int:
    """Keep the replica of profiles and follows from users.events.v1 until SIGTERM."""
    settings = config.load()
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
    return run_consumers(name="articles-consume", settings=settings, runners=[runner])


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `newsroom-articles` command."""
    parser = argparse.ArgumentParser(prog="newsroom-articles")
    parser.add_argument("command", choices=["migrate", "relay", "consume"])
    args = parser.parse_args(argv)
    with exit_on_settings_error(parser.prog):
        sys.exit({"migrate": migrate, "relay": relay, "consume": consume}[args.command]())
