"""The views migrations build exactly the schema its SQLAlchemy tables describe."""

from __future__ import annotations

from typing import Any

import pytest

from newsroom_devstack.testing import schema_drift
from newsroom_views.adapters.tables import metadata
from newsroom_views.entrypoints.cli import MIGRATIONS

pytestmark = pytest.mark.integration


def test_migrations_on_an_empty_database_match_the_tables(postgres: Any) -> None:
    url = postgres.database_url("views")
    assert schema_drift(database_url=url, script_location=MIGRATIONS, metadata=metadata) == []
