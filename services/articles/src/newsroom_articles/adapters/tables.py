"""The articles database schema (SQLAlchemy Core). Alembic migrations create it.

Every list filter has an index that drives it: newest first overall
(`articles_created_idx`), by author (`articles_author_created_idx`), by tag
(`article_tags_tag_idx`), by favoriter (`favorites` primary key) and the
feed (`follows` primary key, then the author index).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from newsroom_common.shared_tables import add_shared_tables

metadata = sa.MetaData()
_TIMESTAMP = sa.DateTime(timezone=True)

# The replica of users' public profiles (fed by users.events.v1). Not unique by name:
# events of two users renaming each other can arrive in either order.
profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("username", sa.Text, nullable=False),
    # NULL while unset, never "", as in users: migration 0003.
    sa.Column("bio", sa.Text, nullable=True),
    sa.Column("image", sa.Text, nullable=True),
    sa.Column("updated_at", _TIMESTAMP, nullable=False, server_default=sa.func.now()),
    sa.Index("profiles_username_lower_idx", sa.func.lower(sa.text("username"))),
)

# The replica of follows: the feed and `following` read it.
follows = sa.Table(
    "follows",
    metadata,
    sa.Column("follower_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("followee_id", pg.UUID(as_uuid=False), primary_key=True),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    # Not a foreign key: authors live in the users service; the replica may lag behind.
    sa.Column("author_id", pg.UUID(as_uuid=False), nullable=False),
    # Kept with the article so a page never counts favorites row by row.
    sa.Column("favorites_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", _TIMESTAMP, nullable=False),
    sa.Column("updated_at", _TIMESTAMP, nullable=False),
    sa.Index("articles_created_idx", sa.text("created_at DESC"), sa.text("id DESC")),
    sa.Index(
        "articles_author_created_idx", "author_id", sa.text("created_at DESC"), sa.text("id DESC")
    ),
)

article_tags = sa.Table(
    "article_tags",
    metadata,
    sa.Column(
        "article_id",
        pg.UUID(as_uuid=False),
        sa.ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tag", sa.Text, primary_key=True),
    sa.Index("article_tags_tag_idx", "tag", "article_id"),
)

# How many articles use each tag, kept in the writing transaction: `GET /api/tags` reads
# a small table instead of grouping every article's tags.
tags = sa.Table(
    "tags",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("articles_count", sa.Integer, nullable=False, server_default="0"),
    sa.Index(
        "tags_popular_idx",
        sa.text("articles_count DESC"),
        "name",
        postgresql_where=sa.text("articles_count > 0"),
    ),
)

favorites = sa.Table(
    "favorites",
    metadata,
    sa.Column("user_id", pg.UUID(as_uuid=False), primary_key=True),
    sa.Column(
        "article_id",
        pg.UUID(as_uuid=False),
        sa.ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("created_at", _TIMESTAMP, nullable=False, server_default=sa.func.now()),
    # Deleting an article finds its favorites through this index.
    sa.Index("favorites_article_idx", "article_id"),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "article_id",
        pg.UUID(as_uuid=False),
        sa.ForeignKey("articles.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("author_id", pg.UUID(as_uuid=False), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", _TIMESTAMP, nullable=False),
    sa.Column("updated_at", _TIMESTAMP, nullable=False),
    sa.Index("comments_article_idx", "article_id", "id"),
)

# Totals kept in the writing transaction ("articles": every article), so the unfiltered
# list, the home page, never counts a table that grows without bound.
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
)

outbox, processed_events = add_shared_tables(metadata)
