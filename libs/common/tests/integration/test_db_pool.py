"""The pool tests idle connections on checkout, so a restarted database costs no request."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from newsroom_common.database_url import psycopg2_url
from newsroom_common.db import _ping_idle_connections

pytestmark = pytest.mark.integration


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_an_idle_connection_killed_by_the_database_is_replaced_before_use(postgres: Any) -> None:
    engine = sa.create_engine(
        psycopg2_url(postgres.database_url("views")), pool_size=1, max_overflow=0
    )
    # Every checkout counts as idle: the test needs no waiting.
    _ping_idle_connections(engine, idle_seconds=0.0)
    other = sa.create_engine(psycopg2_url(postgres.database_url("views")), poolclass=sa.NullPool)
    try:
        first = backend_pid(engine)
        with other.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})

        # The pooled connection is dead; the checkout notices and connects anew.
        assert backend_pid(engine) != first
    finally:
        engine.dispose()
        other.dispose()


@pytest.mark.parametrize(("idle_seconds", "pings"), [(3600.0, 0), (0.0, 1)])
def test_only_a_connection_idle_long_enough_is_pinged(
    postgres: Any, monkeypatch: pytest.MonkeyPatch, idle_seconds: float, pings: int
) -> None:
    engine = sa.create_engine(
        psycopg2_url(postgres.database_url("views")), pool_size=1, max_overflow=0
    )
    _ping_idle_connections(engine, idle_seconds=idle_seconds)
    pinged: list[object] = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection: Any) -> bool:
        pinged.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    try:
        backend_pid(engine)  # a new connection: never pinged
        backend_pid(engine)  # back from the pool

        assert len(pinged) == pings
    finally:
        engine.dispose()
