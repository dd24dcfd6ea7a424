"""SQLAlchemy engines built from settings, safe to use after gunicorn forks."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsroom_common import metrics, telemetry
from newsroom_common.config import ServiceSettings


def create_engine(settings: ServiceSettings, *, application_name: str) -> Engine:
    """An engine with a bounded pool, short timeouts and liveness checks.

    Build it after the fork (in `create_app` or a worker's main), never at
    import time, so each process owns its own connections.
    """
    engine = sa.create_engine(
        settings.database_url.get(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        # A restarted database leaves dead sockets in the pool: see _ping_idle_connections.
        pool_recycle=1800,
        connect_args={
            "connect_timeout": 3,
            "application_name": application_name,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        },
    )
    _ping_idle_connections(engine, idle_seconds=IDLE_PING_SECONDS)
    metrics.instrument_pool(engine, pool_name=application_name)
    telemetry.instrument_engine(engine)
    return engine


# A connection back in the pool for less than this was working a moment ago.
IDLE_PING_SECONDS = 1.0


def _ping_idle_connections(engine: Engine, *, idle_seconds: float) -> None:
    """Test a pooled connection on checkout only when it sat idle for idle_seconds or more.

    pool_pre_ping tests every checkout: a round trip on every request, 13 to 33% of the
    articles API's time in `make bench`'s profiles. A connection that was in use less than
    a second ago is not tested; one idle for longer may have outlived a database restart,
    so it is, and a dead one is replaced before the request sees it (DisconnectionError
    makes the pool connect again). A connection that dies in use raises once, and
    SQLAlchemy then invalidates every older connection of the pool at once.
    """

    @sa.event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise sa.exc.DisconnectionError(str(error)) from error


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
