"""Alembic glue shared by every service: one env.py body and one upgrade command."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.pool import NullPool

from newsroom_common.database_url import psycopg2_url

# Serialises migrations when several pods or instances start at once.
MIGRATION_LOCK_KEY = 0x6D696772  # "migr"
_TIMESTAMP = sa.DateTime(timezone=True)


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


def upgrade(*, url: str, script_location: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["url"] = url
    command.upgrade(config, revision)


def create_shared_tables() -> None:
    """Create `outbox` and `processed_events` (as in `tables.add_shared_tables`) in a migration."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("headers", pg.JSONB, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "outbox_unsent_idx", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_index(
        "outbox_sent_at_idx", "outbox", ["sent_at"], postgresql_where=sa.text("sent_at IS NOT NULL")
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("processed_events_processed_at_idx", "processed_events", ["processed_at"])
