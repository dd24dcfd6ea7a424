"""Alembic environment of the articles database."""

from newsroom_articles.adapters.tables import metadata
from newsroom_common.migrations import run_env

run_env(target_metadata=metadata)
