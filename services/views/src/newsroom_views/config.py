"""Settings of the views service, read from `VIEWS_*` environment variables."""

from __future__ import annotations

import dataclasses

from newsroom_common.config import ServiceSettings, load_settings
from newsroom_views import topics

PREFIX = "VIEWS_"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViewsSettings(ServiceSettings):
    """Everything the views service reads from its environment."""

    bind: str = "0.0.0.0:8003"
    # A schema other than `public` for the service's tables, so several instances (test runs,
    # benchmarks) can share one database. Migrations always target the default schema.
    db_schema: str = ""
    views_topic: str = topics.ARTICLES_VIEWS
    articles_topic: str = topics.ARTICLES_EVENTS
    users_topic: str = topics.USERS_EVENTS
    dead_letter_topic: str = topics.VIEWS_DLT
    ingest_group: str = topics.INGEST_GROUP
    articles_replica_group: str = topics.ARTICLES_REPLICA_GROUP
    users_replica_group: str = topics.USERS_REPLICA_GROUP
    # Records per polled batch: one transaction and one offset commit each.
    ingest_batch_size: int = 2000
    # Processed event ids are kept this long, and never less than the views topic's
    # retention.ms + segment.ms (read at start): a group whose offsets expired re-reads all
    # the topic still holds. 14 days covers Kafka's defaults (services/views/README.md).
    processed_events_retention_hours: int = 14 * 24
    # Minute buckets answer `1h` and the first partial hour of `24h`; hour buckets answer `7d`.
    minute_buckets_retention_hours: int = 26
    hour_buckets_retention_hours: int = 7 * 24 + 2
    prune_interval_seconds: int = 600
    lag_refresh_seconds: float = 5.0


def load() -> ViewsSettings:
    """Settings from the process environment."""
    return load_settings(ViewsSettings, prefix=PREFIX)
