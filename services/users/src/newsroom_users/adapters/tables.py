"""The users database schema (SQLAlchemy Core). Alembic migrations create it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from newsroom_common.shared_tables import add_shared_tables

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    # NULL while unset, never "": migration 0002.
    sa.Column("bio", sa.Text, nullable=True),
    sa.Column("image", sa.Text, nullable=True),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    # Unique regardless of case: lookups use lower() and hit these indexes.
    sa.Index("users_email_lower_key", sa.func.lower(sa.text("email")), unique=True),
    sa.Index("users_username_lower_key", sa.func.lower(sa.text("username")), unique=True),
)

follows = sa.Table(
    "follows",
    metadata,
    sa.Column(
        "follower_id",
        pg.UUID(as_uuid=False),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "followee_id",
        pg.UUID(as_uuid=False),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Index("follows_followee_idx", "followee_id"),
)

outbox, processed_events = add_shared_tables(metadata)
