"""SQLAlchemy engines built from settings, safe to use after gunicorn forks."""

from __future__ import annotations

import time
from typing import Any

import psycopg2.extensions
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsroom_common import metrics, telemetry
from newsroom_common.config import ServiceSettings
from newsroom_common.database_url import psycopg2_url

# Set on engines whose connections commit each statement (see `create_engine`).
AUTOCOMMIT = "newsroom_autocommit"


def create_engine(
    settings: ServiceSettings, *, application_name: str, autocommit: bool = False
) -> Engine:
    """An engine with a bounded pool, short timeouts and liveness checks.

    Build it after the fork (in `create_app` or a worker's main), never at
    import time, so each process owns its own connections.

    `autocommit=True` makes a pool for reads: its connections are switched to
    autocommit once, when they connect, so a read sends neither BEGIN nor ROLLBACK
    and no isolation level is set and reset per checkout (two round trips and a
    tenth of a millisecond of a read, in `make bench`'s profiles). Nor is such a
    connection rolled back on its way back to the pool: no transaction can be open on
    it, and psycopg2 lets go of the GIL even for a rollback with nothing to do (2% of
    a signed-in list's busy samples, waiting to get it back from the other threads).
    """
    url = psycopg2_url(settings.database_url.get())
    engine = sa.create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        # A restarted database leaves dead sockets in the pool: see _ping_idle_connections.
        pool_recycle=1800,
        connect_args=_connect_args(
            url,
            connect_timeout=3,
            application_name=application_name,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        ),
        **({"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit else {}),
    )
    engine.update_execution_options(**{AUTOCOMMIT: autocommit})
    sa.event.listen(engine, "connect", _uuids_as_text)
    _ping_idle_connections(engine, idle_seconds=IDLE_PING_SECONDS)
    metrics.instrument_pool(engine, pool_name=application_name)
    telemetry.instrument_engine(engine)
    return engine


# A database that vanishes without a reset (its pod or node gone, a partition) leaves a query
# waiting on its socket for good: libpq has no timeout of its own, statement_timeout is the
# server's, and a worker's SIGTERM handler runs only once the call returns. Keepalives find a
# silent peer under an idle wait (5 s, then 3 probes 2 s apart); tcp_user_timeout drops a
# connection whose sent bytes stay unacknowledged for 10 s (and caps the probes at that). With
# connect_timeout (3 s) and statement_timeout (5 s), no database call of a worker outlasts the
# pods' 30 s termination grace period. libpq ignores them on Unix-domain sockets.
TCP_TIMEOUTS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


def _connect_args(
    url: sa.URL, *, connect_timeout: int, application_name: str, statement_timeout_ms: int
) -> dict[str, Any]:
    """Our connection defaults, under what the URL's query says.

    connect_args win over the URL's query in SQLAlchemy, so a default the URL sets itself
    (connect_timeout, application_name, a TCP timeout) is left out, and the URL's `options`
    come after our statement timeout: PostgreSQL applies the last `-c` for a setting, the
    operator's.
    """
    query = url.query
    args: dict[str, Any] = {
        key: value
        for key, value in (
            ("connect_timeout", connect_timeout),
            ("application_name", application_name),
            *TCP_TIMEOUTS.items(),
        )
        if key not in query
    }
    given = query.get("options", ())
    given = (given,) if isinstance(given, str) else tuple(given)
    args["options"] = " ".join((f"-c statement_timeout={statement_timeout_ms}", *given))
    return args


_UUID_OID = 2950
_UUID_AS_TEXT = psycopg2.extensions.new_type(
    (_UUID_OID,), "NEWSROOM_UUID_AS_TEXT", lambda value, _cursor: value
)


def _uuids_as_text(dbapi_connection: Any, _record: Any) -> None:
    """Read uuid columns as the strings the services use (their columns are as_uuid=False).

    SQLAlchemy has psycopg2 parse each into uuid.UUID, only to format it back into a string:
    40 times for a page of 20 articles. Runs after SQLAlchemy's own connect hook.
    """
    psycopg2.extensions.register_type(_UUID_AS_TEXT, dbapi_connection)


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
