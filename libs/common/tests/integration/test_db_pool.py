"""The pool tests idle connections on checkout, so a restarted database costs no request;
its connections carry the TCP timeouts that bound a call to a database gone silent."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
import sqlalchemy as sa

from newsroom_common.config import ServiceSettings, load_settings
from newsroom_common.database_url import psycopg2_url
from newsroom_common.db import TCP_TIMEOUTS, _ping_idle_connections, create_engine

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


# A pod's time after SIGTERM: its terminationGracePeriodSeconds less the preStop drain
# (charts/newsroom-lib, _workloads.tpl).
GRACE_PERIOD_S = 30


def test_connections_carry_the_timeouts_that_bound_a_call_to_a_silent_database(
    postgres: Any,
) -> None:
    settings = load_settings(
        ServiceSettings,
        prefix="VIEWS_",
        environ={"VIEWS_DATABASE_URL": postgres.database_url("views")},
    )
    engine = create_engine(settings, application_name="views-test")
    try:
        with engine.connect() as connection:
            fd = connection.connection.dbapi_connection.fileno()  # type: ignore[union-attr]
            # A duplicate descriptor: closing it leaves libpq's socket open.
            with socket.socket(fileno=os.dup(fd)) as sock:
                if sock.family == socket.AF_UNIX:
                    pytest.skip("the database is on a Unix socket, where TCP timeouts do not apply")
                # What the kernel applies to the socket libpq made, not what we asked for.
                seen = {
                    "keepalives": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    "keepalives_idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    "keepalives_interval": sock.getsockopt(
                        socket.IPPROTO_TCP, socket.TCP_KEEPINTVL
                    ),
                    "keepalives_count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                    "tcp_user_timeout": sock.getsockopt(
                        socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT
                    ),
                }
    finally:
        engine.dispose()
    assert seen == TCP_TIMEOUTS
    # The longest a silent peer holds a call: a connect, or a sent query unacknowledged
    # (tcp_user_timeout), or one acknowledged and never answered (keepalives' probes).
    idle_detection_s = (
        TCP_TIMEOUTS["keepalives_idle"]
        + TCP_TIMEOUTS["keepalives_interval"] * TCP_TIMEOUTS["keepalives_count"]
    )
    longest_s = max(3, TCP_TIMEOUTS["tcp_user_timeout"] / 1000, idle_detection_s)
    assert longest_s < GRACE_PERIOD_S / 2
