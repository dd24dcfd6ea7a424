"""Alembic environment of the views database."""

from newsroom_common.migrations import run_env
from newsroom_views.adapters.tables import metadata

run_env(target_metadata=metadata)
