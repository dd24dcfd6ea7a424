"""A read-only unit of work runs its statements without a transaction, and leaves none behind."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from newsroom_common.config import DatabaseUrl, ServiceSettings
from newsroom_common.db import create_engine
from newsroom_common.events import Event
from newsroom_common.uow import UnitOfWork

pytestmark = pytest.mark.integration
XID = sa.text("SELECT pg_current_xact_id()::text")


def test_a_read_only_unit_of_work_sends_no_begin_and_the_pool_gets_its_mode_back(
    schema_tables: Any,
) -> None:
    engine, _schema, outbox, _processed = schema_tables
    engine = sa.create_engine(engine.url, pool_size=1, max_overflow=0)
    uow = {"engine": engine, "outbox": outbox, "source": "/test", "type_prefix": "test."}
    try:
        with UnitOfWork(**uow, read_only=True) as work:
            # Each statement is its own transaction.
            assert work.connection.scalar(XID) != work.connection.scalar(XID)

        with UnitOfWork(**uow) as work:  # the same pooled connection, in a transaction again
            assert work.connection.scalar(XID) == work.connection.scalar(XID)
    finally:
        engine.dispose()


def test_a_read_only_unit_of_work_refuses_to_publish(schema_tables: Any) -> None:
    engine, _schema, outbox, _processed = schema_tables

    class Happened(Event):
        TOPIC = "test.events"

        def key(self) -> str:
            return "k"

    with UnitOfWork(
        engine=engine, outbox=outbox, source="/t", type_prefix="t.", read_only=True
    ) as work:
        work.publish(Happened())
        with pytest.raises(RuntimeError):
            work.commit()


def test_the_reads_pool_hands_back_connections_without_a_transaction(postgres: Any) -> None:
    # Its connections are not rolled back on the way back to the pool (there is nothing to
    # roll back): a statement, a failed one included, must leave none open.
    settings = ServiceSettings(
        database_url=DatabaseUrl(postgres.database_url("views")), db_pool_size=1, db_max_overflow=0
    )
    engine = create_engine(settings, application_name="test-reads", autocommit=True)
    try:
        with engine.connect() as conn:
            assert conn.scalar(XID) != conn.scalar(XID)
            with pytest.raises(sa.exc.DataError):
                conn.execute(sa.text("SELECT 1 / 0"))
        with engine.connect() as conn:  # the same connection, back from the pool
            # A transaction left open would have started before this statement.
            assert conn.scalar(sa.text("SELECT now() = statement_timestamp()"))
    finally:
        engine.dispose()
