"""A running total of articles, so the unfiltered list never counts the whole table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
    )
    # Articles may exist already; the migration's lock keeps writers out meanwhile.
    op.execute("LOCK TABLE articles IN SHARE MODE")
    op.execute("INSERT INTO counters (name, value) SELECT 'articles', count(*) FROM articles")


def downgrade() -> None:
    op.drop_table("counters")
