"""Processed ids and buckets go after their retention, never before the topic's horizon."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from newsroom_views.adapters.repositories import SqlProcessedEvents
from newsroom_views.adapters.tables import live, processed_events
from newsroom_views.adapters.topic_config import KafkaTopicRetention, redelivery_horizon
from newsroom_views.bootstrap import bootstrap
from newsroom_views.service_layer.pruning import dedup_retention, prune_old

from .conftest import Views

pytestmark = pytest.mark.integration


def test_the_horizon_is_retention_plus_segment_time(views: Views) -> None:
    s = views.settings
    # Kafka's defaults: 7 days of retention, segments rolled after 7 days.
    assert redelivery_horizon(s.kafka_bootstrap_servers, s.views_topic) == dt.timedelta(days=14)
    topic = KafkaTopicRetention(s.kafka_bootstrap_servers, s.views_topic)
    assert dedup_retention(configured=dt.timedelta(days=1), topic=topic) == dt.timedelta(days=14)


def test_prune_drops_only_what_is_past_retention(views: Views) -> None:
    now = dt.datetime.now(dt.UTC)
    with views.engine.begin() as connection:
        connection.execute(
            processed_events.insert(),
            [
                {"consumer": "g", "event_id": "old", "processed_at": now - dt.timedelta(days=15)},
                {
                    "consumer": "g",
                    "event_id": "recent",
                    "processed_at": now - dt.timedelta(days=13),
                },
            ],
        )
        for table, age in (
            (live.minutes, dt.timedelta(hours=30)),
            (live.hours, dt.timedelta(days=8)),
        ):
            connection.execute(
                table.insert(),
                [
                    {"article_id": "a", "bucket_start": now - age, "views": 1},
                    {"article_id": "a", "bucket_start": now, "views": 1},
                ],
            )
    services = bootstrap(views.settings, process="test")
    prune_old(
        uow=services.uow(),
        processed=SqlProcessedEvents(services.engine),
        retention=services.retention,
        processed_retention=dt.timedelta(days=14),
    )
    with views.engine.connect() as connection:
        assert set(connection.scalars(sa.select(processed_events.c.event_id))) == {"recent"}
        for table in (live.minutes, live.hours):
            assert connection.scalar(sa.select(sa.func.count()).select_from(table)) == 1
    services.engine.dispose()
