"""Alembic environment of the users database."""

from newsroom_common.migrations import run_env
from newsroom_users.adapters.tables import metadata

run_env(target_metadata=metadata)
