"""ArticleViewed reaches Kafka for every read, also across a broker outage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from newsroom_articles.topics import ARTICLES_VIEWS
from newsroom_common.events import CloudEvent
from newsroom_devstack.kafka import Broker
from newsroom_devstack.stack import Stack

from .conftest import Api

pytestmark = pytest.mark.integration


@pytest.fixture
def views(stack: Stack, kafka: Broker) -> Iterator[KafkaConsumer]:
    """A reader of articles.views.v1 from its beginning (article ids keep tests apart)."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_auto_commit=False,
        consumer_timeout_ms=200,
        reconnect_backoff_max_ms=500,
    )
    partitions = range(stack.topics()[ARTICLES_VIEWS])
    consumer.assign([TopicPartition(ARTICLES_VIEWS, p) for p in partitions])
    consumer.seek_to_beginning()
    yield consumer
    consumer.close()


def _collect(consumer: KafkaConsumer, slug: str, found: dict[str, Any]) -> int:
    """Read what arrived; keep the views of `slug` by event id (a redelivery counts once)."""
    for batch in consumer.poll(timeout_ms=200).values():
        for record in batch:
            event = CloudEvent.from_kafka(record.headers, record.value)
            if event.data.get("slug") == slug:
                found[event.id] = (record.key, event)
    return len(found)


def test_every_read_emits_article_viewed(api: Api, views: KafkaConsumer, poll: Any) -> None:
    author, reader = api.register("w"), api.register("r")
    slug = api.publish(author)["slug"]
    reads = [api.get(f"/api/articles/{slug}", user=reader) for _ in range(3)]
    reads.append(api.get(f"/api/articles/{slug}"))
    assert [r.status_code for r in reads] == [200] * 4
    found: dict[str, Any] = {}
    poll(lambda: _collect(views, slug, found) >= 4, timeout=30)
    assert len(found) == 4
    keys = {key for key, _ in found.values()}
    events = [event for _, event in found.values()]
    (article_id,) = {e.data["article_id"] for e in events}
    assert keys == {article_id.encode()}
    assert {e.type for e in events} == {"dev.newsroom.articles.ArticleViewed"}
    assert sorted(str(e.data["viewer_id"]) for e in events) == sorted([reader.id] * 3 + ["None"])
    assert all(e.data["viewed_at"].endswith("Z") for e in events)
    assert set(events[0].data) == {"article_id", "slug", "viewer_id", "viewed_at"}


def test_reads_answer_while_kafka_is_down_and_views_arrive_after(
    api: Api, kafka: Broker, views: KafkaConsumer, poll: Any
) -> None:
    author, reader = api.register("w"), api.register("r")
    slug = api.publish(author)["slug"]
    kafka.stop()
    try:
        reads = [api.get(f"/api/articles/{slug}", user=reader) for _ in range(5)]
        assert [r.status_code for r in reads] == [200] * 5
    finally:
        kafka.start()
    found: dict[str, Any] = {}
    poll(lambda: _collect(views, slug, found) >= 5, timeout=90)
    assert len(found) == 5
