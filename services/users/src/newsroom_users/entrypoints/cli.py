"""`newsroom-users`: migrations and the outbox relay worker."""

from __future__ import annotations

import argparse
import logging

from newsroom_common.kafka_clients import broker_reachable, create_producer
from newsroom_common.logs import configure_logging
from newsroom_common.migrations import upgrade
from newsroom_common.outbox import OutboxRelay
from newsroom_common.worker import StopFlag, serve_probes
from newsroom_users import config
from newsroom_users.adapters.tables import outbox

MIGRATIONS = "newsroom_users.adapters:migrations"
log = logging.getLogger("newsroom_users.cli")


def migrate() -> None:
    """Apply the database migrations."""
    settings = config.load()
    configure_logging(service="users-migrate", level=settings.log_level)
    upgrade(url=settings.database_url.get(), script_location=MIGRATIONS)
    log.info("migrations applied")


def relay() -> None:
    """Publish outbox rows to Kafka until SIGTERM."""
    from newsroom_users.bootstrap import bootstrap

    settings = config.load()
    configure_logging(service="users-relay", level=settings.log_level)
    services = bootstrap(settings, process="relay")
    stop = StopFlag().install()
    worker = OutboxRelay(
        engine=services.engine,
        outbox=outbox,
        producer=create_producer(settings.kafka_bootstrap_servers, client_id="users-relay"),
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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `newsroom-users` command."""
    parser = argparse.ArgumentParser(prog="newsroom-users")
    parser.add_argument("command", choices=["migrate", "relay"])
    args = parser.parse_args(argv)
    {"migrate": migrate, "relay": relay}[args.command]()
