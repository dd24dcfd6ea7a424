"""Tables every service's database has: the outbox and the consumer's processed event ids.

Each service calls `add_shared_tables(metadata)` on its own MetaData, so its
Alembic migrations create them next to its own tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg


def add_shared_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Define `outbox` and `processed_events` on `metadata`; return them."""
    outbox = sa.Table(
        "outbox",
        metadata,
        # The identity orders rows: the relay publishes in this order.
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
        # The relay's claim query reads only unsent rows: keep that index tiny.
        sa.Index("outbox_unsent_idx", "id", postgresql_where=sa.text("sent_at IS NULL")),
        sa.Index("outbox_sent_at_idx", "sent_at", postgresql_where=sa.text("sent_at IS NOT NULL")),
    )
    processed = sa.Table(
        "processed_events",
        metadata,
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Index("processed_events_processed_at_idx", "processed_at"),
    )
    return outbox, processed
