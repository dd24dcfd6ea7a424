"""SQLAlchemy engines built from settings, safe to use after gunicorn forks."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsroom_common import metrics
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
        # A restarted database leaves dead sockets in the pool: test each on checkout.
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": 3,
            "application_name": application_name,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        },
    )
    metrics.instrument_pool(engine, pool_name=application_name)
    return engine


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
