"""Alembic glue shared by every service: one env.py body and one upgrade command."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.pool import NullPool

from newsroom_common.database_url import psycopg2_url

# Serialises migrations when several pods or instances start at once.
MIGRATION_LOCK_KEY = 0x6D696772  # "migr"
# How long `upgrade` waits for its database to accept connections: a Helm hook Job starts
# with the release, often before the database (a fresh StatefulSet, an operator's cluster).
DATABASE_WAIT_SECONDS = 180.0
# Errors that no wait can cure: report them at once.
_FATAL = ("authentication failed", "does not exist", "no pg_hba.conf entry")
log = logging.getLogger("newsroom_common.migrations")


def run_env(*, target_metadata: sa.MetaData) -> None:
    """The body of a service's migrations/env.py (online mode only)."""
    config = context.config
    url = str(config.attributes.get("url") or config.get_main_option("sqlalchemy.url"))
    engine = sa.create_engine(psycopg2_url(url), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            context.run_migrations()


def wait_for_database(url: str, *, timeout: float = DATABASE_WAIT_SECONDS) -> None:
    """Return once the database accepts a connection; raise, naming it, after `timeout`."""
    target = psycopg2_url(url)
    engine = sa.create_engine(target, poolclass=NullPool)
    where = f"{target.host}:{target.port or 5432}/{target.database}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect():
                    return
            except sa.exc.OperationalError as error:
                reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
                if any(fatal in reason for fatal in _FATAL):
                    raise RuntimeError(f"the database {where} refused us: {reason}") from error
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"the database {where} did not accept connections within "
                        f"{timeout:.0f}s: {reason}"
                    ) from error
                log.info("waiting for the database %s: %s", where, reason)
                time.sleep(2.0)
    finally:
        engine.dispose()


def upgrade(
    *,
    url: str,
    script_location: str,
    revision: str = "head",
    wait_seconds: float = DATABASE_WAIT_SECONDS,
) -> None:
    """Apply migrations up to `revision`, once the database accepts connections."""
    wait_for_database(url, timeout=wait_seconds)
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["url"] = url
    command.upgrade(config, revision)
