"""Wiring: the one place that builds the articles service's adapters from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from kafka import KafkaProducer
from sqlalchemy.engine import Engine

from newsroom_articles import config
from newsroom_articles.adapters.read_cache import ReadCache, prepare_check
from newsroom_articles.adapters.unit_of_work import SOURCE, TYPE_PREFIX, SqlArticlesUnitOfWork
from newsroom_articles.adapters.users_directory import HttpUsersDirectory
from newsroom_articles.config import ArticlesSettings
from newsroom_articles.service_layer.ports import ArticlesUnitOfWork, EventSink, ProfileDirectory
from newsroom_common.auth import KeySet, TokenVerifier
from newsroom_common.db import create_engine
from newsroom_common.errors import Unavailable
from newsroom_common.event_buffer import BufferedEventPublisher
from newsroom_common.http_client import ServiceClient
from newsroom_common.kafka_clients import create_producer


@dataclass(frozen=True)
class Services:
    """Everything the entrypoints call use cases with."""

    settings: ArticlesSettings
    engine: Engine
    # Autocommit connections of their own for the read routes (newsroom_common.db).
    read_engine: Engine
    # This process's recent list pages, checked against the database's snapshot per read.
    read_cache: ReadCache
    keys: KeySet
    verifier: TokenVerifier
    directory: ProfileDirectory
    views: EventSink

    def uow(self) -> ArticlesUnitOfWork:
        """A fresh unit of work."""
        return SqlArticlesUnitOfWork(self.engine)

    def read_uow(self) -> ArticlesUnitOfWork:
        """A fresh unit of work for the read routes: no transaction around its statements.

        What a read writes on the side (profiles it had to fetch from users into the
        replica) is one idempotent statement at a time, committed as it runs.
        """
        return SqlArticlesUnitOfWork(self.read_engine, read_only=True, read_cache=self.read_cache)


def jwks_fetcher(url: str) -> Any:
    """A callable fetching the JWKS document at `url` (for KeySet)."""
    client = ServiceClient(url, connect_timeout=0.5, read_timeout=2.0)

    def fetch() -> Mapping[str, Any]:
        status, body = client.get_json("")
        if status != 200 or not isinstance(body, dict):
            raise Unavailable(f"JWKS answered {status}")
        return body

    return fetch


def bootstrap(settings: ArticlesSettings | None = None, *, process: str = "api") -> Services:
    """Build the service's adapters; call after the fork. Nothing connects until used."""
    settings = settings or config.load()
    bootstrap_servers = settings.kafka_bootstrap_servers

    def views_producer() -> KafkaProducer:
        # Views are many and cheap to lose one by one: leader acknowledgement is enough.
        return create_producer(
            bootstrap_servers,
            client_id=f"articles-{process}-views",
            acks=1,
            enable_idempotence=False,
            linger_ms=20,
        )

    users = ServiceClient(
        settings.users_url,
        connect_timeout=settings.users_connect_timeout,
        read_timeout=settings.users_read_timeout,
        retries=1,
    )
    keys = KeySet(jwks_fetcher(settings.jwks_url))
    read_engine = create_engine(
        settings, application_name=f"articles-{process}-reads", autocommit=True
    )
    sa.event.listen(read_engine, "connect", prepare_check)
    return Services(
        settings=settings,
        engine=create_engine(settings, application_name=f"articles-{process}"),
        read_engine=read_engine,
        read_cache=ReadCache(),
        keys=keys,
        verifier=TokenVerifier(keys),
        directory=HttpUsersDirectory(users),
        views=BufferedEventPublisher(
            producer_factory=views_producer,
            source=SOURCE,
            type_prefix=TYPE_PREFIX,
            capacity=settings.view_buffer_size,
        ),
    )
