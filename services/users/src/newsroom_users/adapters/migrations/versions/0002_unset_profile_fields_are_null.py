"""An unset bio or image is NULL, not "": the API answers null for them (issue 22).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FIELDS = ("bio", "image")


def upgrade() -> None:
    for field in _FIELDS:
        op.alter_column("users", field, nullable=True, server_default=None)
    op.execute(
        "UPDATE users SET bio = NULLIF(bio, ''), image = NULLIF(image, '')"
        " WHERE bio = '' OR image = ''"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE users SET bio = coalesce(bio, ''), image = coalesce(image, '')"
        " WHERE bio IS NULL OR image IS NULL"
    )
    for field in _FIELDS:
        op.alter_column("users", field, nullable=False, server_default="")
