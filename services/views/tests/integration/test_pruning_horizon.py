"""Processed ids are pruned only with a horizon actually read from Kafka.

The consume process used to read the views topic's horizon once, falling back to the
configured retention when it could not: a broker (or topic) not there at start pinned that
guess for the process's life, and ids were pruned while Kafka could still redeliver their
records, which would then be counted twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from newsroom_views.adapters.tables import processed_events
from newsroom_views.bootstrap import bootstrap
from newsroom_views.entrypoints.consumers import housekeeping

from .conftest import Views

pytestmark = pytest.mark.integration


def _kept(views: Views) -> set[str]:
    with views.engine.connect() as connection:
        return set(connection.scalars(sa.select(processed_events.c.event_id)))


def test_an_unreadable_horizon_prunes_no_ids_and_is_read_again_next_round(
    views: Views, kafka: Any
) -> None:
    # A topic not created yet: its configuration cannot be read, as with a broker away.
    topic = f"test.views.late.{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(
        views.settings, views_topic=topic, processed_events_retention_hours=24
    )
    now = dt.datetime.now(dt.UTC)
    with views.engine.begin() as connection:
        connection.execute(
            processed_events.insert(),
            [
                {
                    "consumer": "g",
                    "event_id": "past-horizon",
                    "processed_at": now - dt.timedelta(days=15),
                },
                {
                    "consumer": "g",
                    "event_id": "in-horizon",
                    "processed_at": now - dt.timedelta(days=13),
                },
            ],
        )
    services = bootstrap(settings, process="test")
    prune = housekeeping(services)
    try:
        prune()
        # The configured day would drop both; with the horizon unknown, none goes.
        assert _kept(views) == {"past-horizon", "in-horizon"}

        # Kafka's defaults: 7 days of retention plus 7 of segment time, a 14-day horizon.
        kafka.create_topics({topic: 1})
        prune()
        assert _kept(views) == {"in-horizon"}
    finally:
        services.engine.dispose()
