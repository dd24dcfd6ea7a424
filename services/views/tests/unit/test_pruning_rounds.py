"""Pruning rounds: processed ids wait for a horizon actually read, and it is read again."""

from __future__ import annotations

import datetime as dt

from newsroom_views.domain.model import Retention
from newsroom_views.service_layer.pruning import Pruner

from .fakes import FakeUnitOfWork

DAY = dt.timedelta(days=1)


class UnreadableThenDefault:
    """A views topic whose configuration cannot be read `failures` times, then Kafka's 14 days."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.reads = 0

    def redelivery_horizon(self) -> dt.timedelta | None:
        self.reads += 1
        if self.reads <= self.failures:
            raise ConnectionError("no Kafka broker answers")
        return 14 * DAY


class RecordedPrunes:
    """Processed ids that only record the retention each prune was asked for."""

    def __init__(self) -> None:
        self.older_than: list[dt.timedelta] = []

    def prune(self, *, older_than: dt.timedelta) -> int:
        self.older_than.append(older_than)
        return 0


def test_no_id_is_pruned_until_the_horizon_is_read_and_then_it_is_kept() -> None:
    topic = UnreadableThenDefault(failures=2)
    processed = RecordedPrunes()
    prune = Pruner(
        uow=FakeUnitOfWork(),
        processed=processed,
        topic=topic,
        configured=DAY,
        retention=Retention(minutes=DAY, hours=7 * DAY),
    )

    prune()
    prune()
    # The configured day is no safe guess: Kafka may still redeliver records that old.
    assert processed.older_than == []

    prune()
    prune()
    assert processed.older_than == [14 * DAY, 14 * DAY]
    # Read until known, then once: three reads for four rounds.
    assert topic.reads == 3
