"""ArticlePublished, ArticleUpdated and ArticleDeleted reach articles.events.v1 via the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from newsroom_articles.topics import ARTICLES_EVENTS
from newsroom_common.events import CloudEvent
from newsroom_devstack.kafka import Broker
from newsroom_devstack.stack import Stack

from .conftest import Api

pytestmark = pytest.mark.integration


@pytest.fixture
def article_events(stack: Stack, kafka: Broker) -> Iterator[KafkaConsumer]:
    """A reader of articles.events.v1 from its beginning."""
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    partitions = range(stack.topics()[ARTICLES_EVENTS])
    consumer.assign([TopicPartition(ARTICLES_EVENTS, p) for p in partitions])
    consumer.seek_to_beginning()
    yield consumer
    consumer.close()


def test_the_lifecycle_of_an_article_is_published_in_order(
    api: Api, article_events: KafkaConsumer, poll: Any
) -> None:
    author = api.register("ev")
    created = api.publish(author, title="Evented", tagList=["b", "a"])
    slug = created["slug"]
    api.put(f"/api/articles/{slug}", user=author, json={"article": {"title": "Evented Again"}})
    new_slug = api.get(f"/api/articles?author={author.username}").json()["articles"][0]["slug"]
    assert api.delete(f"/api/articles/{new_slug}", user=author).status_code in {200, 204}
    seen: list[tuple[bytes, CloudEvent]] = []

    def arrived() -> bool:
        for batch in article_events.poll(timeout_ms=200).values():
            for record in batch:
                event = CloudEvent.from_kafka(record.headers, record.value)
                if event.data.get("author_id") == author.id:
                    seen.append((record.key, event))
        return len(seen) >= 3

    poll(arrived, timeout=30)
    names = [event.name for _, event in seen]
    assert names == ["ArticlePublished", "ArticleUpdated", "ArticleDeleted"]
    (article_id,) = {event.data["id"] for _, event in seen}
    assert {key for key, _ in seen} == {article_id.encode()}
    assert {event.type.rsplit(".", 1)[0] for _, event in seen} == {"dev.newsroom.articles"}
    published, updated, deleted = (event.data for _, event in seen)
    assert published == {
        "id": article_id,
        "slug": slug,
        "title": "Evented",
        "author_id": author.id,
        "tags": ["a", "b"],
    }
    assert (updated["slug"], updated["title"]) == (new_slug, "Evented Again")
    assert deleted["slug"] == new_slug
