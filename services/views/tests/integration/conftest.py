"""Fixtures for the views service against the real PostgreSQL and Kafka.

Each test gets its own schema in the views database, its own topics and its own
consumer groups, so tests never see each other's counts, and never those of the
stack's own views consumers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests
import sqlalchemy as sa
from kafka import KafkaProducer

from newsroom_common.config import DatabaseUrl
from newsroom_common.events import CloudEvent
from newsroom_devstack.net import free_port
from newsroom_views.adapters.tables import metadata
from newsroom_views.config import ViewsSettings

VIEWS_PARTITIONS = 4


def wait_for(predicate: Callable[[], Any], *, timeout: float = 60, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclasses.dataclass
class Views:
    """One test's views service: settings, an engine on its schema, and its topics."""

    settings: ViewsSettings
    engine: sa.Engine
    producer: KafkaProducer
    log_dir: Path
    consumers: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)
    logs: list[IO[bytes]] = dataclasses.field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a `newsroom-views` process of this test."""
        s = self.settings
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "VIEWS_DATABASE_URL": s.database_url.get(),
            "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            "VIEWS_DB_SCHEMA": s.db_schema,
            "VIEWS_VIEWS_TOPIC": s.views_topic,
            "VIEWS_ARTICLES_TOPIC": s.articles_topic,
            "VIEWS_USERS_TOPIC": s.users_topic,
            "VIEWS_DEAD_LETTER_TOPIC": s.dead_letter_topic,
            "VIEWS_INGEST_GROUP": s.ingest_group,
            "VIEWS_ARTICLES_REPLICA_GROUP": s.articles_replica_group,
            "VIEWS_USERS_REPLICA_GROUP": s.users_replica_group,
            "VIEWS_LAG_REFRESH_SECONDS": "0.5",
            **extra,
        }

    def start_consumer(self, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
        """Start `newsroom-views consume`; return it and the base URL of its probes."""
        port = free_port()
        log = self.log_dir / f"consume-{len(self.consumers) + 1}.log"
        self.logs.append(log.open("wb"))
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "newsroom-views"), "consume"],
            env=self.env(VIEWS_WORKER_HTTP_PORT=str(port), **extra),
            stdout=self.logs[-1],
            stderr=subprocess.STDOUT,
        )
        self.consumers.append(process)
        return process, f"http://127.0.0.1:{port}"

    def produce(
        self, topic: str, events: list[CloudEvent], *, key: Callable[[CloudEvent], str]
    ) -> None:
        """Send CloudEvents in binary mode, as the articles and users services do."""
        for event in events:
            self.producer.send(
                topic, key=key(event).encode(), value=event.value(), headers=event.headers()
            )
        self.producer.flush()

    def publish_article(
        self, article_id: str, slug: str, *, author_id: str, kind: str = "ArticlePublished"
    ) -> None:
        """An article event on the test's articles topic."""
        event = CloudEvent(
            id=str(uuid.uuid4()),
            source="/newsroom/articles",
            type=f"dev.newsroom.articles.{kind}",
            time=dt.datetime.now(dt.UTC),
            data={
                "id": article_id,
                "slug": slug,
                "title": slug.title(),
                "author_id": author_id,
                "tags": [],
            },
            subject=article_id,
        )
        self.produce(self.settings.articles_topic, [event], key=lambda e: article_id)

    def register_user(self, user_id: str, username: str) -> None:
        """A UserRegistered on the test's users topic."""
        event = CloudEvent(
            id=str(uuid.uuid4()),
            source="/newsroom/users",
            type="dev.newsroom.users.UserRegistered",
            time=dt.datetime.now(dt.UTC),
            data={"id": user_id, "username": username, "bio": "", "image": ""},
            subject=user_id,
        )
        self.produce(self.settings.users_topic, [event], key=lambda e: user_id)

    def total(self, article_id: str) -> int:
        """The article's all-time count, read straight from the database."""
        with self.engine.connect() as connection:
            from newsroom_views.adapters.repositories import SqlCountRepository

            return SqlCountRepository(connection).total(article_id)

    def replica_has(self, article_id: str, *, deleted: bool = False) -> bool:
        """True when the article replica holds the article (in that state)."""
        from newsroom_views.adapters.tables import articles

        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(articles.c.deleted).where(articles.c.id == article_id)
            ).first()
        return row is not None and bool(row.deleted) == deleted


def viewed(article_id: str, *, at: dt.datetime | None = None, slug: str = "s") -> CloudEvent:
    """An ArticleViewed exactly as the articles service emits it."""
    at = at or dt.datetime.now(dt.UTC)
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/newsroom/articles",
        type="dev.newsroom.articles.ArticleViewed",
        time=dt.datetime.now(dt.UTC),
        data={
            "article_id": article_id,
            "slug": slug,
            "viewer_id": None,
            "viewed_at": at.isoformat(),
        },
        subject=article_id,
    )


def by_article(event: CloudEvent) -> str:
    """The key the articles service uses: the article id."""
    return str(event.data["article_id"])


def readyz(probes: str) -> dict[str, Any]:
    """The consumer's /readyz body (any status)."""
    try:
        return requests.get(f"{probes}/readyz", timeout=2).json()  # type: ignore[no-any-return]
    except (requests.RequestException, ValueError):
        return {}


@pytest.fixture
def views(postgres: Any, kafka: Any, tmp_path: Path) -> Iterator[Views]:
    tag = uuid.uuid4().hex[:10]
    settings = ViewsSettings(
        database_url=DatabaseUrl(postgres.database_url("views")),
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        db_schema=f"t_{tag}",
        views_topic=f"test.views.{tag}",
        articles_topic=f"test.articles.{tag}",
        users_topic=f"test.users.{tag}",
        dead_letter_topic=f"test.dlt.{tag}",
        ingest_group=f"test-ingest-{tag}",
        articles_replica_group=f"test-articles-{tag}",
        users_replica_group=f"test-users-{tag}",
    )
    kafka.create_topics(
        {
            settings.views_topic: VIEWS_PARTITIONS,
            settings.articles_topic: 2,
            settings.users_topic: 1,
            settings.dead_letter_topic: 1,
        }
    )
    plain = sa.create_engine(settings.database_url.get())
    with plain.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {settings.db_schema}"))
    engine = plain.execution_options(schema_translate_map={None: settings.db_schema})
    metadata.create_all(engine)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all", linger_ms=5)
    service = Views(settings=settings, engine=engine, producer=producer, log_dir=tmp_path)
    yield service
    for process in service.consumers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in service.consumers:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for log in service.logs:
        log.close()
    producer.close()
    with plain.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {settings.db_schema} CASCADE"))
    plain.dispose()
