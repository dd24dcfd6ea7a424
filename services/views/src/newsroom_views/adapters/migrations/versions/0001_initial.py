"""Article and author replicas, counts per minute, hour and all time, the rebuild's tables,
the outbox and processed event ids.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

COUNT_PREFIXES = ("", "rebuild_")


def _count_tables(prefix: str) -> None:
    for name in ("view_minutes", "view_hours"):
        op.create_table(
            f"{prefix}{name}",
            sa.Column("article_id", sa.Text, primary_key=True),
            sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
            sa.Column("views", sa.BigInteger, nullable=False),
        )
        op.create_index(f"{prefix}{name}_bucket_idx", f"{prefix}{name}", ["bucket_start"])
    op.create_table(
        f"{prefix}view_totals",
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("views", sa.BigInteger, nullable=False),
    )
    op.create_index(
        f"{prefix}view_totals_views_idx", f"{prefix}view_totals", [sa.text("views DESC")]
    )


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("author_id", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "articles_live_slug_idx", "articles", ["slug"], postgresql_where=sa.text("NOT deleted")
    )
    op.create_table(
        "authors",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("version", sa.DateTime(timezone=True), nullable=False),
    )
    for prefix in COUNT_PREFIXES:
        _count_tables(prefix)
    op.create_table(
        "rebuild_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("targets", pg.JSONB, nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "rebuild_runs_one_building_idx",
        "rebuild_runs",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'building'"),
    )
    op.create_table(
        "rebuild_progress",
        sa.Column("run_id", sa.BigInteger, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
    )
    op.create_table("rebuild_seen", sa.Column("event_id", sa.Text, primary_key=True))
    # The outbox and processed_events tables every service has (newsroom_common.shared_tables), as
    # they were at this revision: frozen here, so a later change to the library cannot
    # change what this migration did.
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


def downgrade() -> None:
    for table in ("processed_events", "outbox", "rebuild_seen", "rebuild_progress", "rebuild_runs"):
        op.drop_table(table)
    for prefix in reversed(COUNT_PREFIXES):
        for name in ("view_totals", "view_hours", "view_minutes"):
            op.drop_table(f"{prefix}{name}")
    op.drop_table("authors")
    op.drop_table("articles")
