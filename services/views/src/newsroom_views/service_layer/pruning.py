"""Pruning: processed event ids and count buckets go once past their retention.

The consume processes run it every `prune_interval_seconds` (entrypoints/consumers.py);
the deletes are small and idempotent, so every process prunes without coordination.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from newsroom_common.consumer import prune_processed
from newsroom_views.adapters.repositories import SqlRepositories
from newsroom_views.adapters.tables import processed_events
from newsroom_views.adapters.topic_config import redelivery_horizon
from newsroom_views.domain.model import HOUR, dedup_window

if TYPE_CHECKING:
    from newsroom_views.bootstrap import Services

log = logging.getLogger(__name__)


class HorizonUnknown(Exception):
    """The views topic's redelivery horizon cannot be read (broker away, topic not there yet)."""


def dedup_retention(services: Services) -> dt.timedelta | None:
    """How long processed ids are kept: the setting, raised to the views topic's horizon.

    Raises HorizonUnknown when the topic's configuration cannot be read: no guess is safe
    (ids pruned while Kafka can still redeliver their records would count them twice).
    """
    s = services.settings
    configured = dt.timedelta(hours=s.processed_events_retention_hours)
    try:
        horizon = redelivery_horizon(s.kafka_bootstrap_servers, s.views_topic)
    except Exception as exc:
        raise HorizonUnknown(f"cannot read the retention of topic {s.views_topic}: {exc}") from exc
    window = dedup_window(configured, horizon)
    if window != configured:
        log.warning(
            "processed event ids kept longer than configured: the views topic can redeliver "
            "records for that long",
            extra={"configured_hours": configured / HOUR, "kept_hours": window and window / HOUR},
        )
    return window


class Pruner:
    """A consume process's pruning rounds: processed ids wait until the horizon is known.

    The horizon is read once it can be (a topic's retention seldom changes, and a change is
    seen at the next restart); until then each round prunes count buckets only and reads
    again, so a broker not reachable at start does not pin a guess for the process's life.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._known = False
        self._retention: dt.timedelta | None = None

    def __call__(self) -> None:
        """One round: read the horizon if still unknown, then prune what is past retention."""
        if not self._known:
            try:
                self._retention = dedup_retention(self._services)
                self._known = True
            except HorizonUnknown as exc:
                log.warning("processed event ids kept this round: %s", exc)
        # None keeps every processed id, as for a topic that keeps its records forever.
        prune_old(self._services, processed_retention=self._retention if self._known else None)


def prune_old(services: Services, *, processed_retention: dt.timedelta | None) -> None:
    """Drop processed event ids and buckets past their retention."""
    now = dt.datetime.now(dt.UTC)
    try:
        ids = 0
        if processed_retention is not None:
            ids = prune_processed(
                services.engine,
                processed_events,
                older_than_s=int(processed_retention.total_seconds()),
            )
        with services.engine.begin() as connection:
            buckets = SqlRepositories(connection).counts.prune(
                minutes_before=now - services.retention.minutes,
                hours_before=now - services.retention.hours,
            )
        log.info("pruned", extra={"processed_events": ids, "buckets": buckets})
    except Exception:
        # Pruning is housekeeping: a failure waits for the next round, counting goes on.
        log.exception("pruning failed")
