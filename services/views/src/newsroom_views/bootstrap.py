"""Wiring: the one place that builds the views service's adapters from settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from newsroom_common.db import create_engine
from newsroom_views import config
from newsroom_views.adapters.repositories import SqlProcessedEvents
from newsroom_views.adapters.topic_config import KafkaTopicRetention
from newsroom_views.adapters.unit_of_work import SqlViewsUnitOfWork
from newsroom_views.config import ViewsSettings
from newsroom_views.domain.model import Retention
from newsroom_views.service_layer.ports import ViewsUnitOfWork
from newsroom_views.service_layer.pruning import Pruner


@dataclass(frozen=True)
class Services:
    """Everything the entrypoints call use cases with."""

    settings: ViewsSettings
    engine: Engine

    def uow(self) -> ViewsUnitOfWork:
        """A fresh unit of work."""
        return SqlViewsUnitOfWork(self.engine)

    @property
    def retention(self) -> Retention:
        """How long count buckets are kept."""
        return Retention(
            minutes=dt.timedelta(hours=self.settings.minute_buckets_retention_hours),
            hours=dt.timedelta(hours=self.settings.hour_buckets_retention_hours),
        )

    def pruner(self) -> Pruner:
        """The consume process's pruning rounds, on this service's database and views topic."""
        s = self.settings
        return Pruner(
            uow=self.uow,
            processed=SqlProcessedEvents(self.engine),
            topic=KafkaTopicRetention(s.kafka_bootstrap_servers, s.views_topic),
            configured=dt.timedelta(hours=s.processed_events_retention_hours),
            retention=self.retention,
        )


def engine_for(settings: ViewsSettings, *, process: str) -> Engine:
    """An engine whose statements name the configured schema (default: the search path)."""
    engine = create_engine(settings, application_name=f"views-{process}")
    if settings.db_schema:
        # Core statements render unqualified tables in this schema; nothing else changes.
        engine = engine.execution_options(schema_translate_map={None: settings.db_schema})
    return engine


def bootstrap(settings: ViewsSettings | None = None, *, process: str = "api") -> Services:
    """Build the service's adapters; call after the fork."""
    settings = settings or config.load()
    return Services(settings=settings, engine=engine_for(settings, process=process))
