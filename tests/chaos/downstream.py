"""What reached the other side: domain events on Kafka, and views in the views service's counts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from .load import Client


@dataclass(frozen=True)
class Delivery:
    """Acknowledged writes against the events found for them downstream."""

    acknowledged: int
    delivered: int
    # A title published as two different articles: a write that happened twice.
    repeated: int

    @property
    def lost(self) -> int:
        """Return the acknowledged writes with no event."""
        return self.acknowledged - self.delivered


def read_topic(bootstrap_servers: str, topic: str) -> list[tuple[str, dict[str, object]]]:
    """Return (ce_type, data) of every record of a topic, read from the start to its end now."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
        request_timeout_ms=30000,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records: list[tuple[str, dict[str, object]]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(consumer.position(tp) >= end[tp] for tp in partitions):
                break
            for batch in consumer.poll(timeout_ms=1000).values():
                for record in batch:
                    headers = {k: v.decode() for k, v in record.headers}
                    records.append((headers.get("ce_type", ""), json.loads(record.value)))
        return records
    finally:
        consumer.close()


def article_deliveries(bootstrap_servers: str, titles: set[str]) -> Delivery:
    """Check that each acknowledged article has its ArticlePublished, once as one article."""
    ids_by_title: dict[str, set[str]] = {}
    for ce_type, data in read_topic(bootstrap_servers, "articles.events.v1"):
        title = data.get("title")
        if ce_type.endswith(".ArticlePublished") and title in titles:
            ids_by_title.setdefault(str(title), set()).add(str(data.get("id")))
    repeated = sum(1 for ids in ids_by_title.values() if len(ids) > 1)
    return Delivery(len(titles), len(ids_by_title), repeated)


def profile_deliveries(bootstrap_servers: str, bios: set[str]) -> Delivery:
    """Check that each acknowledged profile update has its UserUpdated event."""
    found = {
        str(data.get("bio"))
        for ce_type, data in read_topic(bootstrap_servers, "users.events.v1")
        if ce_type.endswith(".UserUpdated") and data.get("bio") in bios
    }
    return Delivery(len(bios), len(found), 0)


def wait_for(
    check: Callable[[], bool], *, timeout: float, interval: float = 1.0
) -> tuple[bool, float]:
    """Poll check() until true or timeout; return whether it became true and the time it took."""
    started = time.monotonic()
    while True:
        if check():
            return True, time.monotonic() - started
        if time.monotonic() - started >= timeout:
            return False, time.monotonic() - started
        time.sleep(interval)


def counted_views(client: Client, slugs: Iterable[str]) -> int:
    """Return the views service's total over the given articles (-1 if it cannot answer)."""
    total = 0
    for slug in slugs:
        status, body, _ = client.send("GET", f"/api/articles/{slug}/views")
        if status != 200:
            return -1
        total += int(body["views"]["total"])
    return total
