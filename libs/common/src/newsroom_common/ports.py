"""Protocols every service's use cases depend on (plain Python: no SQLAlchemy, no Flask)."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from newsroom_common.events import CloudEvent, Event


class Transaction(Protocol):
    """A unit of work: a context manager that only `commit()` makes durable."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


class OutboxTransaction(Transaction, Protocol):
    """A unit of work whose published events go out through the outbox on commit."""

    def publish(self, event: Event) -> CloudEvent: ...
