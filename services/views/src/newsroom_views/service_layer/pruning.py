"""Pruning: processed event ids and count buckets go once past their retention.

The consume processes run it every `prune_interval_seconds` (entrypoints/consumers.py,
wired in bootstrap.py); the deletes are small and idempotent, so every process prunes
without coordination.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from newsroom_views.domain.model import HOUR, Retention, dedup_window
from newsroom_views.service_layer.ports import ProcessedEvents, TopicRetention, ViewsUnitOfWork

log = logging.getLogger(__name__)


class HorizonUnknown(Exception):
    """The views topic's redelivery horizon cannot be read (broker away, topic not there yet)."""


def dedup_retention(*, configured: dt.timedelta, topic: TopicRetention) -> dt.timedelta | None:
    """How long processed ids are kept: `configured`, raised to the topic's horizon.

    Raises HorizonUnknown when the topic's configuration cannot be read: no guess is safe
    (ids pruned while Kafka can still redeliver their records would count them twice).
    """
    try:
        horizon = topic.redelivery_horizon()
    except Exception as exc:
        raise HorizonUnknown(f"cannot read the views topic's retention: {exc}") from exc
    window = dedup_window(configured, horizon)
    if window != configured:
        log.warning(
            "processed event ids kept longer than configured: the views topic can redeliver "
            "records for that long",
            extra={"configured_hours": configured / HOUR, "kept_hours": window and window / HOUR},
        )
    return window


def prune_old(
    *,
    uow: ViewsUnitOfWork,
    processed: ProcessedEvents,
    retention: Retention,
    processed_retention: dt.timedelta | None,
) -> None:
    """Drop processed event ids and buckets past their retention (None: keep every id)."""
    now = dt.datetime.now(dt.UTC)
    try:
        ids = 0
        if processed_retention is not None:
            ids = processed.prune(older_than=processed_retention)
        with uow:
            buckets = uow.counts.prune(
                minutes_before=now - retention.minutes, hours_before=now - retention.hours
            )
            uow.commit()
        log.info("pruned", extra={"processed_events": ids, "buckets": buckets})
    except Exception:
        # Pruning is housekeeping: a failure waits for the next round, counting goes on.
        log.exception("pruning failed")


class Pruner:
    """A consume process's pruning rounds: processed ids wait until the horizon is known.

    The horizon is read once it can be (a topic's retention seldom changes, and a change is
    seen at the next restart); until then each round prunes count buckets only and reads
    again, so a broker not reachable at start does not pin a guess for the process's life.
    """

    def __init__(
        self,
        *,
        uow: Callable[[], ViewsUnitOfWork],
        processed: ProcessedEvents,
        topic: TopicRetention,
        configured: dt.timedelta,
        retention: Retention,
    ) -> None:
        self._uow = uow
        self._processed = processed
        self._topic = topic
        self._configured = configured
        self._retention = retention
        self._known = False
        self._processed_retention: dt.timedelta | None = None

    def __call__(self) -> None:
        """One round: read the horizon if still unknown, then prune what is past retention."""
        if not self._known:
            try:
                self._processed_retention = dedup_retention(
                    configured=self._configured, topic=self._topic
                )
                self._known = True
            except HorizonUnknown as exc:
                log.warning("processed event ids kept this round: %s", exc)
        prune_old(
            uow=self._uow(),
            processed=self._processed,
            retention=self._retention,
            # None keeps every processed id, as for a topic that keeps its records forever.
            processed_retention=self._processed_retention if self._known else None,
        )
