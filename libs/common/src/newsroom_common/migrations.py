"""Alembic glue shared by every service: one env.py body and one upgrade command."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.pool import NullPool

# Serialises migrations when several pods or instances start at once.
MIGRATION_LOCK_KEY = 0x6D696772  # "migr"


def run_env(*, target_metadata: sa.MetaData) -> None:
    """The body of a service's migrations/env.py (online mode only)."""
    config = context.config
    url = str(config.attributes.get("url") or config.get_main_option("sqlalchemy.url"))
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            context.run_migrations()


def upgrade(*, url: str, script_location: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["url"] = url
    command.upgrade(config, revision)
