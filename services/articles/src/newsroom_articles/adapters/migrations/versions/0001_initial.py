"""Articles, tags, comments, favorites, the profile and follow replica, the outbox.

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

UUID = pg.UUID(as_uuid=False)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("bio", sa.Text, nullable=False, server_default=""),
        sa.Column("image", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    )
    op.execute("CREATE INDEX profiles_username_lower_idx ON profiles (lower(username))")
    op.create_table(
        "follows",
        sa.Column("follower_id", UUID, primary_key=True),
        sa.Column("followee_id", UUID, primary_key=True),
    )
    op.create_table(
        "articles",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("slug", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("author_id", UUID, nullable=False),
        sa.Column("favorites_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.execute("CREATE INDEX articles_created_idx ON articles (created_at DESC, id DESC)")
    op.execute(
        "CREATE INDEX articles_author_created_idx ON articles (author_id, created_at DESC, id DESC)"
    )
    op.create_table(
        "article_tags",
        sa.Column(
            "article_id",
            UUID,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.Text, primary_key=True),
    )
    op.create_index("article_tags_tag_idx", "article_tags", ["tag", "article_id"])
    op.create_table(
        "tags",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("articles_count", sa.Integer, nullable=False, server_default="0"),
    )
    op.execute(
        "CREATE INDEX tags_popular_idx ON tags (articles_count DESC, name) WHERE articles_count > 0"
    )
    op.create_table(
        "favorites",
        sa.Column("user_id", UUID, primary_key=True),
        sa.Column(
            "article_id",
            UUID,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("favorites_article_idx", "favorites", ["article_id"])
    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "article_id",
            UUID,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author_id", UUID, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("comments_article_idx", "comments", ["article_id", "id"])
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
    for table in (
        "processed_events",
        "outbox",
        "comments",
        "favorites",
        "tags",
        "article_tags",
        "articles",
        "follows",
        "profiles",
    ):
        op.drop_table(table)
