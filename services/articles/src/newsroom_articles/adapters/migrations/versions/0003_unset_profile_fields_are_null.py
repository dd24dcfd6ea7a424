"""The profile replica keeps an unset bio or image as NULL, like users does (issue 22).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FIELDS = ("bio", "image")


def upgrade() -> None:
    for field in _FIELDS:
        op.alter_column("profiles", field, nullable=True, server_default=None)
    op.execute(
        "UPDATE profiles SET bio = NULLIF(bio, ''), image = NULLIF(image, '')"
        " WHERE bio = '' OR image = ''"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE profiles SET bio = coalesce(bio, ''), image = coalesce(image, '')"
        " WHERE bio IS NULL OR image IS NULL"
    )
    for field in _FIELDS:
        op.alter_column("profiles", field, nullable=False, server_default="")
