"""N views become exactly N, whatever Kafka and the consumers go through."""

from __future__ import annotations

import signal
import uuid

import pytest
import requests

from .conftest import Views, by_article, readyz, viewed, wait_for

pytestmark = pytest.mark.integration


def _settled(views: Views, probes: str, article_ids: list[str], expected: int) -> bool:
    """True once the group has no lag and the articles add up to `expected`."""
    ingest = readyz(probes).get("groups", {}).get(views.settings.ingest_group, {})
    lag = ingest.get("lag")
    if not lag or any(n for n in lag.values()):
        return False
    return sum(views.total(a) for a in article_ids) >= expected


def test_the_same_events_produced_twice_count_once(views: Views) -> None:
    articles = [str(uuid.uuid4()) for _ in range(3)]
    events = [viewed(articles[i % 3]) for i in range(300)]
    views.produce(views.settings.views_topic, events, key=by_article)
    _, probes = views.start_consumer()
    wait_for(lambda: _settled(views, probes, articles, 300), what="300 views counted")
    views.produce(views.settings.views_topic, events, key=by_article)
    wait_for(
        lambda: readyz(probes)["groups"][views.settings.ingest_group]["duplicates"] >= 300,
        what="the replays seen as duplicates",
    )
    wait_for(lambda: _settled(views, probes, articles, 300), what="no lag")
    assert [views.total(a) for a in articles] == [100, 100, 100]


def test_a_consumer_killed_mid_batch_and_restarted_counts_each_view_once(views: Views) -> None:
    articles = [str(uuid.uuid4()) for _ in range(8)]
    n = 4000
    views.produce(
        views.settings.views_topic, [viewed(articles[i % 8]) for i in range(n)], key=by_article
    )
    # Small batches, so the kill lands between many commits, most likely inside a transaction.
    first, _ = views.start_consumer(VIEWS_INGEST_BATCH_SIZE="20")
    wait_for(lambda: sum(views.total(a) for a in articles) > 200, what="counting under way")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    counted_before_restart = sum(views.total(a) for a in articles)
    assert counted_before_restart < n, "the kill came too late to test anything"
    _, probes = views.start_consumer(VIEWS_INGEST_BATCH_SIZE="500")
    wait_for(lambda: _settled(views, probes, articles, n), what=f"{n} views counted")
    assert sum(views.total(a) for a in articles) == n
    assert [views.total(a) for a in articles] == [n // 8] * 8


def test_a_second_consumer_joining_mid_stream_loses_and_doubles_nothing(views: Views) -> None:
    articles = [str(uuid.uuid4()) for _ in range(16)]
    wave = 1600
    views.produce(
        views.settings.views_topic, [viewed(articles[i % 16]) for i in range(wave)], key=by_article
    )
    _, first = views.start_consumer(VIEWS_INGEST_BATCH_SIZE="50")
    # The bound only caps the wait: a cold consumer joins three groups before it counts, which
    # took over 60 s once in CI at a load average of 30 on 2 cores.
    wait_for(
        lambda: sum(views.total(a) for a in articles) > 100,
        timeout=180,
        what="counting under way",
    )
    _, second = views.start_consumer(VIEWS_INGEST_BATCH_SIZE="50")
    group = views.settings.ingest_group
    # Both members own partitions once the rebalance is over; then the second wave flows.
    wait_for(lambda: readyz(second).get("groups", {}).get(group, {}).get("lag"), what="rebalance")
    views.produce(
        views.settings.views_topic, [viewed(articles[i % 16]) for i in range(wave)], key=by_article
    )
    wait_for(
        lambda: _settled(views, first, articles, 2 * wave) and _settled(views, second, articles, 0),
        what="both waves counted",
    )
    assert [views.total(a) for a in articles] == [2 * wave // 16] * 16
    assert readyz(second)["groups"][group]["processed"] > 0


def test_lag_per_partition_is_a_metric_and_in_readyz(views: Views) -> None:
    article = str(uuid.uuid4())
    views.produce(views.settings.views_topic, [viewed(article)], key=by_article)
    _, probes = views.start_consumer()
    wait_for(lambda: _settled(views, probes, [article], 1), what="the view counted")
    lag = readyz(probes)["groups"][views.settings.ingest_group]["lag"]
    assert sorted(lag) == sorted(f"{views.settings.views_topic}[{p}]" for p in range(4))
    metrics = requests.get(f"{probes}/metrics", timeout=5).text
    group, topic = views.settings.ingest_group, views.settings.views_topic
    assert f'newsroom_consumer_lag{{group="{group}",partition="0",topic="{topic}"}} 0.0' in metrics
    # The platform's one consumer metric scheme (the dashboard and alerts read these).
    assert f'newsroom_consumer_events_processed_total{{group="{group}"}} 1.0' in metrics
    assert f'newsroom_consumer_events_dead_lettered_total{{group="{group}"}} 0.0' in metrics
