"""The unit of work: one database transaction that only `commit()` makes durable.

Events recorded with `uow.publish(event)` are written to the outbox in the same
transaction, so "saved" and "will be published" are one fact.
"""

from __future__ import annotations

import dataclasses
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsroom_common import telemetry
from newsroom_common.db import AUTOCOMMIT
from newsroom_common.events import CloudEvent, Event

# LISTEN/NOTIFY channel the outbox relay waits on.
OUTBOX_CHANNEL = "newsroom_outbox"


class UnitOfWork:
    """Base unit of work; a service subclasses it and binds its repositories in `bind`."""

    connection: Connection

    def __init__(
        self,
        *,
        engine: Engine,
        outbox: sa.Table,
        source: str,
        type_prefix: str,
        read_only: bool = False,
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._source = source
        self._type_prefix = type_prefix
        self._read_only = read_only
        self._pending: list[tuple[str, CloudEvent]] = []

    def bind(self, connection: Connection) -> None:
        """Create the service's repositories on `connection`."""

    def __enter__(self) -> Self:
        self.connection = self._engine.connect()
        if self._read_only and not self._engine.get_execution_options().get(AUTOCOMMIT):
            # A read needs no transaction: under READ COMMITTED each statement takes its own
            # snapshot inside one as well. Without it, psycopg2 sends no BEGIN and the end
            # sends no ROLLBACK. An engine made with `create_engine(autocommit=True)` is so
            # already; any other is switched here and reset when the connection returns.
            self.connection.execution_options(isolation_level="AUTOCOMMIT")
        self._transaction = self.connection.begin()
        self._pending = []
        self.bind(self.connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()

    def publish(self, event: Event) -> CloudEvent:
        """Record `event` for the outbox; it is written when the unit of work commits."""
        envelope = CloudEvent.from_event(event, source=self._source, type_prefix=self._type_prefix)
        # The trace that made the change follows the event through the relay to consumers.
        traceparent, tracestate = telemetry.current_trace_headers()
        envelope = dataclasses.replace(envelope, traceparent=traceparent, tracestate=tracestate)
        self._pending.append((event.TOPIC, envelope))
        return envelope

    def commit(self) -> None:
        """Write pending outbox rows, wake the relay, and commit."""
        if self._pending and self._read_only:
            raise RuntimeError("a read-only unit of work cannot publish events")
        if self._pending:
            written = (
                self._outbox.insert()
                .values(
                    [
                        {
                            "event_id": e.id,
                            "topic": topic,
                            "key": e.subject or "",
                            "event_type": e.type,
                            "headers": {k: v.decode() for k, v in e.headers()},
                            "payload": e.data,
                        }
                        for topic, e in self._pending
                    ]
                )
                .cte("written")
            )
            # The rows and the relay's wake-up (delivered on commit only, so the relay wakes at
            # once instead of polling) in one statement: one round trip less per write.
            self.connection.execute(
                sa.select(sa.func.pg_notify(OUTBOX_CHANNEL, "")).add_cte(written)
            )
            self._pending = []
        self._transaction.commit()

    def rollback(self) -> None:
        """Discard everything done in this unit of work."""
        self._pending = []
        self._transaction.rollback()
