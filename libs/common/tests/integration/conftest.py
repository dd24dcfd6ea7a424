"""Fixtures for libs/common integration tests: a private schema and topics per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from newsroom_common.database_url import psycopg2_url
from newsroom_common.shared_tables import add_shared_tables


@pytest.fixture
def schema_tables(postgres: Any) -> Iterator[tuple[sa.Engine, str, sa.Table, sa.Table]]:
    """An engine on the views database and fresh outbox/processed tables in their own schema."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(psycopg2_url(postgres.database_url("views")))
    metadata = sa.MetaData(schema=schema)
    outbox, processed = add_shared_tables(metadata)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {schema}.effects (event_id text PRIMARY KEY, applied int NOT NULL)"
            )
        )
    metadata.create_all(engine)
    yield engine, schema, outbox, processed
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def topic(kafka: Any) -> str:
    """A fresh topic with 3 partitions (and its dead-letter topic)."""
    name = f"test.{uuid.uuid4().hex[:10]}"
    kafka.create_topics({name: 3, f"{name}.dlt": 1})
    return name
