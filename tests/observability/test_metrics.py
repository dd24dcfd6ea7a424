"""`/metrics` of every process of the traced stack: each metric the platform promises, with
real values after traffic, and HTTP counts summed exactly over two gunicorn workers."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from observability_support import register
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from newsroom_devstack.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample at `url`, by name and labels."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def values(samples: Samples, name: str, **labels: str) -> list[float]:
    """The values of the samples called `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return [v for (n, ls), v in samples.items() if n == name and wanted <= ls]


def wait_for_metrics(url: str, check: Callable[[Samples], bool], timeout: float = 30.0) -> Samples:
    """Scrape `url` until `check` holds."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(url)
        if check(samples):
            return samples
        if time.monotonic() > deadline:
            names = sorted({n for n, _ in samples if n.startswith("newsroom")})
            raise AssertionError(f"{url}: never satisfied; newsroom samples: {names}")
        time.sleep(0.5)


def test_http_requests_are_summed_exactly_over_gunicorn_workers(traced_stack: Stack) -> None:
    account = register(traced_stack)
    base = traced_stack.service_url("users")
    route = {"service": "users", "method": "GET", "route": "/api/profiles/<username>"}
    name = "newsroom_http_requests_total"
    before = sum(values(scrape(f"{base}/metrics"), name, status="200", **route))
    metrics_dir = Path(tempfile.gettempdir()) / (
        f"newsroom-users-metrics-{traced_stack.process('users-api').pid}"
    )

    def one(_: int) -> int:
        # A connection per request, so the workers take turns accepting them.
        response = requests.get(
            f"{base}/api/profiles/{account.username}", headers={"Connection": "close"}, timeout=10
        )
        return response.status_code

    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Until both workers have answered some (the kernel picks who accepts).
        while sent < 400:
            assert set(pool.map(one, range(40))) == {200}
            sent += 40
            if len(_requests_per_worker(metrics_dir, name, route)) >= 2:
                break
    per_worker = _requests_per_worker(metrics_dir, name, route)
    assert len(per_worker) >= 2, f"only one worker answered: {per_worker}"
    after = sum(values(scrape(f"{base}/metrics"), name, status="200", **route))
    assert after - before == sent
    assert all(0 < n < sent + before for n in per_worker.values())


def _requests_per_worker(metrics_dir: Path, name: str, labels: dict[str, str]) -> dict[str, float]:
    """Requests counted in each worker's own file of the multiprocess directory."""
    counts: dict[str, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        merged = MultiProcessCollector.merge([str(path)], accumulate=False)  # type: ignore[no-untyped-call]
        for metric in merged:
            for s in metric.samples:
                if s.name == name and set(labels.items()) <= set(s.labels.items()):
                    counts[path.stem] = counts.get(path.stem, 0.0) + s.value
    return {worker: n for worker, n in counts.items() if n > 0}


def test_every_promised_metric_has_real_values_after_traffic(traced_stack: Stack) -> None:
    account = register(traced_stack)
    gateway = traced_stack.gateway_url
    created = requests.post(
        f"{gateway}/api/articles",
        json={
            "article": {"title": f"Metered {uuid.uuid4().hex[:8]}", "description": "-", "body": "-"}
        },
        headers={"Authorization": f"Token {account.token}"},
        timeout=15,
    )
    assert created.status_code == 201, created.text
    slug = created.json()["article"]["slug"]
    assert requests.get(f"{gateway}/api/articles/{slug}", timeout=15).status_code == 200
    assert requests.get(f"{gateway}/api/articles/no-such-{slug}", timeout=15).status_code == 404

    articles = wait_for_metrics(
        f"{traced_stack.service_url('articles')}/metrics",
        lambda s: sum(values(s, "newsroom_buffered_events_sent_total")) > 0,
    )
    assert sum(values(articles, "newsroom_http_requests_total", status="404")) >= 1
    assert sum(values(articles, "newsroom_http_request_duration_seconds_count")) >= 3
    assert values(articles, "newsroom_http_request_duration_seconds_bucket", le="0.1")
    assert values(articles, "newsroom_buffered_events_dropped_total") == [0.0]
    assert min(values(articles, "newsroom_db_pool_connections_capacity")) > 0
    assert values(articles, "newsroom_db_pool_connections_in_use")

    relay = wait_for_metrics(
        f"{traced_stack.probe_url('articles-relay')}/metrics",
        lambda s: (
            sum(values(s, "newsroom_outbox_published_total")) > 0
            and bool(values(s, "newsroom_outbox_backlog"))
        ),
    )
    assert values(relay, "newsroom_outbox_oldest_unsent_age_seconds")
    assert min(values(relay, "newsroom_outbox_backlog")) >= 0

    consumer = wait_for_metrics(
        f"{traced_stack.probe_url('articles-consume')}/metrics",
        lambda s: (
            sum(values(s, "newsroom_consumer_events_processed_total")) > 0
            and bool(values(s, "newsroom_consumer_lag", topic="users.events.v1"))
        ),
    )
    assert values(consumer, "newsroom_consumer_events_dead_lettered_total") == [0.0]
    assert values(consumer, "newsroom_consumer_events_duplicate_total")

    views = wait_for_metrics(
        f"{traced_stack.probe_url('views-consume')}/metrics",
        lambda s: (
            bool(values(s, "newsroom_consumer_lag", topic="articles.views.v1"))
            and sum(values(s, "newsroom_consumer_events_processed_total")) > 0
        ),
    )
    # One scheme for every consumer: the views groups report what articles' group does.
    assert values(views, "newsroom_consumer_events_dead_lettered_total") == [0.0, 0.0, 0.0]
    assert len(values(views, "newsroom_consumer_events_duplicate_total")) == 3
