"""`newsroom-users`: migrations and the outbox relay worker."""

from __future__ import annotations

import argparse
import logging

from newsroom_common.config import exit_on_settings_error
from newsroom_common.logs import configure_logging
from newsroom_common.migrations import upgrade
from newsroom_common.worker_runtime import run_outbox_relay
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
    run_outbox_relay(service="users", settings=config.load(), outbox=outbox)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `newsroom-users` command."""
    parser = argparse.ArgumentParser(prog="newsroom-users")
    parser.add_argument("command", choices=["migrate", "relay"])
    args = parser.parse_args(argv)
    with exit_on_settings_error(parser.prog):
        {"migrate": migrate, "relay": relay}[args.command]()
