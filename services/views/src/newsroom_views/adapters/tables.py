"""The views database schema (SQLAlchemy Core). Alembic migrations create it.

Counts live in three small tables per article: per minute, per hour and all time.
The rebuild fills a second set (`rebuild_*`) and swaps it in.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from newsroom_common.shared_tables import add_shared_tables

metadata = sa.MetaData()

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("slug", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("author_id", sa.Text, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.DateTime(timezone=True), nullable=False),
    # Not unique: a slug freed by a rename can be taken by another article before the rename
    # reaches us (different keys, different partitions); the newer row wins on lookup.
    sa.Index("articles_live_slug_idx", "slug", postgresql_where=sa.text("NOT deleted")),
)

authors = sa.Table(
    "authors",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("version", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class CountTables:
    """One set of count tables."""

    minutes: sa.Table
    hours: sa.Table
    totals: sa.Table


def _count_tables(prefix: str) -> CountTables:
    def buckets(name: str) -> sa.Table:
        return sa.Table(
            f"{prefix}{name}",
            metadata,
            sa.Column("article_id", sa.Text, primary_key=True),
            sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
            sa.Column("views", sa.BigInteger, nullable=False),
            # Window queries read one time range across all articles.
            sa.Index(f"{prefix}{name}_bucket_idx", "bucket_start"),
        )

    totals = sa.Table(
        f"{prefix}view_totals",
        metadata,
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("views", sa.BigInteger, nullable=False),
        sa.Index(f"{prefix}view_totals_views_idx", sa.text("views DESC")),
    )
    return CountTables(buckets("view_minutes"), buckets("view_hours"), totals)


live = _count_tables("")
shadow = _count_tables("rebuild_")

rebuild_runs = sa.Table(
    "rebuild_runs",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    # Per partition: the live group's committed offset the first phase reads up to.
    sa.Column("targets", pg.JSONB, nullable=False),
    sa.Column(
        "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # At most one rebuild in progress.
    sa.Index(
        "rebuild_runs_one_building_idx",
        "status",
        unique=True,
        postgresql_where=sa.text("status = 'building'"),
    ),
)

rebuild_progress = sa.Table(
    "rebuild_progress",
    metadata,
    sa.Column("run_id", sa.BigInteger, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)

rebuild_seen = sa.Table(
    "rebuild_seen",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
)

outbox, processed_events = add_shared_tables(metadata)
