"""Windows, popularity and replicas on PostgreSQL, fed through Kafka, read through the API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from newsroom_views.entrypoints.app import create_app

from .conftest import Views, by_article, readyz, viewed, wait_for

pytestmark = pytest.mark.integration

HOUR = dt.timedelta(hours=1)


def _idle(views: Views, probes: str) -> bool:
    """True once every group of the consumer has caught up with its topics."""
    groups = readyz(probes).get("groups", {})
    return bool(groups) and all(g["lag"] and not any(g["lag"].values()) for g in groups.values())


def _get(client: FlaskClient, path: str) -> tuple[int, Any]:
    response = client.get(path)
    return response.status_code, response.json


@pytest.fixture
def client(views: Views) -> FlaskClient:
    return create_app(views.settings).test_client()


def test_old_views_count_in_their_past_buckets_not_in_the_last_day(
    views: Views, client: FlaskClient
) -> None:
    article = str(uuid.uuid4())
    views.publish_article(article, "windows", author_id="u1")
    now = dt.datetime.now(dt.UTC)
    ages = [0 * HOUR, 2 * HOUR, 25 * HOUR, 72 * HOUR, 240 * HOUR]
    views.produce(
        views.settings.views_topic, [viewed(article, at=now - age) for age in ages], key=by_article
    )
    _, probes = views.start_consumer()
    wait_for(lambda: views.total(article) == 5 and _idle(views, probes), what="5 views counted")
    assert _get(client, "/api/articles/windows/views") == (
        200,
        {"views": {"slug": "windows", "total": 5, "last24h": 2, "last7d": 4}},
    )


def test_popular_orders_by_count_breaks_ties_by_slug_and_forgets_deleted_articles(
    views: Views, client: FlaskClient
) -> None:
    author = str(uuid.uuid4())
    views.register_user(author, "jake")
    ids = {slug: str(uuid.uuid4()) for slug in ("alpha", "bravo", "charlie", "delta")}
    reads = {"alpha": 3, "bravo": 2, "charlie": 2, "delta": 5}
    for slug, article in ids.items():
        views.publish_article(article, slug, author_id=author)
    now = dt.datetime.now(dt.UTC)
    events = [viewed(ids[s], at=now) for s, n in reads.items() for _ in range(n)]
    # An old view: in `all`, not in `1h`.
    events.append(viewed(ids["bravo"], at=now - 3 * HOUR))
    views.produce(views.settings.views_topic, events, key=by_article)
    _, probes = views.start_consumer()
    wait_for(lambda: views.total(ids["delta"]) == 5 and _idle(views, probes), what="views counted")

    views.publish_article(ids["delta"], "delta", author_id=author, kind="ArticleDeleted")
    wait_for(lambda: views.replica_has(ids["delta"], deleted=True), what="the delete applied")
    views.produce(views.settings.views_topic, [viewed(ids["delta"])] * 1, key=by_article)
    wait_for(lambda: _idle(views, probes), what="the late view of delta handled")

    status, body = _get(client, "/api/views/popular?window=1h")
    assert status == 200
    assert body == {
        "popular": [
            {"slug": "alpha", "title": "Alpha", "author": {"username": "jake"}, "views": 3},
            {"slug": "bravo", "title": "Bravo", "author": {"username": "jake"}, "views": 2},
            {"slug": "charlie", "title": "Charlie", "author": {"username": "jake"}, "views": 2},
        ],
        "window": "1h",
    }
    _, everything = _get(client, "/api/views/popular?window=all&limit=2")
    # A tie at 3: the alphabetically first slug comes first.
    assert [(p["slug"], p["views"]) for p in everything["popular"]] == [("alpha", 3), ("bravo", 3)]
    assert _get(client, "/api/articles/delta/views")[0] == 404
    # Deleted: its counts stopped growing.
    assert views.total(ids["delta"]) == 5


def test_a_renamed_slug_keeps_its_history(views: Views, client: FlaskClient) -> None:
    article = str(uuid.uuid4())
    views.publish_article(article, "first-name", author_id="u1")
    views.produce(views.settings.views_topic, [viewed(article), viewed(article)], key=by_article)
    _, probes = views.start_consumer()
    wait_for(lambda: views.total(article) == 2 and _idle(views, probes), what="2 views counted")
    views.publish_article(article, "second-name", author_id="u1", kind="ArticleUpdated")
    wait_for(
        lambda: client.get("/api/articles/second-name/views").status_code == 200,
        what="the rename applied",
    )
    assert _get(client, "/api/articles/second-name/views")[1]["views"]["total"] == 2
    assert _get(client, "/api/articles/first-name/views")[0] == 404


def test_bad_parameters_are_422_in_the_realworld_shape(client: FlaskClient) -> None:
    assert _get(client, "/api/views/popular?window=forever") == (
        422,
        {"errors": {"window": ["must be one of 1h, 24h, 7d, all"]}},
    )
