"""The use cases against in-memory fakes: counting, windows, popularity, the replicas."""

from __future__ import annotations

import datetime as dt

import pytest

from newsroom_common.errors import NotFound
from newsroom_views.domain.model import HOUR, MINUTE, Article, Author, Retention, View, Window
from newsroom_views.service_layer import replica, views

from .fakes import FakeUnitOfWork

NOW = dt.datetime(2026, 11, 22, 12, 34, 56, tzinfo=dt.UTC)
RETENTION = Retention(minutes=26 * HOUR, hours=170 * HOUR)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _publish(uow: FakeUnitOfWork, article_id: str, slug: str, *, author: str = "u1") -> None:
    replica.apply_article(
        repos=uow,
        change=Article(
            id=article_id,
            slug=slug,
            title=slug.title(),
            author_id=author,
            deleted=False,
            version=NOW,
        ),
    )


def _read(uow: FakeUnitOfWork, article_id: str, *ages: dt.timedelta) -> None:
    batch = [
        View(event_id=f"{article_id}-{i}-{age}", article_id=article_id, viewed_at=NOW - age)
        for i, age in enumerate(ages)
    ]
    views.record_views(repos=uow, views=batch, now=NOW, retention=RETENTION)


def test_old_views_count_in_their_past_buckets_not_in_the_last_day(uow: FakeUnitOfWork) -> None:
    _publish(uow, "a1", "hello")
    _read(
        uow,
        "a1",
        0 * HOUR,
        2 * HOUR,
        23 * HOUR + 58 * MINUTE,
        25 * HOUR,
        3 * 24 * HOUR,
        10 * 24 * HOUR,
    )
    counts = views.article_views(uow=uow, slug="hello", now=NOW)
    assert (counts.total, counts.last24h, counts.last7d) == (6, 3, 5)


def test_unknown_and_deleted_slugs_are_404(uow: FakeUnitOfWork) -> None:
    with pytest.raises(NotFound):
        views.article_views(uow=uow, slug="nope", now=NOW)
    _publish(uow, "a1", "gone")
    replica.apply_article(
        repos=uow,
        change=Article(
            id="a1", slug="gone", title="", author_id="u1", deleted=True, version=NOW + MINUTE
        ),
    )
    with pytest.raises(NotFound):
        views.article_views(uow=uow, slug="gone", now=NOW)


def test_a_deleted_article_stops_counting(uow: FakeUnitOfWork) -> None:
    _publish(uow, "a1", "gone")
    _read(uow, "a1", 0 * HOUR)
    replica.apply_article(
        repos=uow,
        change=Article(
            id="a1", slug="gone", title="", author_id="u1", deleted=True, version=NOW + MINUTE
        ),
    )
    _read(uow, "a1", 0 * HOUR, 0 * HOUR)
    assert uow.counts.total("a1") == 1


def test_views_before_the_article_is_known_still_count(uow: FakeUnitOfWork) -> None:
    _read(uow, "a1", 0 * HOUR)
    _publish(uow, "a1", "late")
    assert views.article_views(uow=uow, slug="late", now=NOW).total == 1


def test_a_renamed_slug_keeps_its_history(uow: FakeUnitOfWork) -> None:
    _publish(uow, "a1", "old-name")
    _read(uow, "a1", 0 * HOUR, 1 * HOUR)
    replica.apply_article(
        repos=uow,
        change=Article(
            id="a1",
            slug="new-name",
            title="New",
            author_id="u1",
            deleted=False,
            version=NOW + MINUTE,
        ),
    )
    assert views.article_views(uow=uow, slug="new-name", now=NOW).total == 2
    with pytest.raises(NotFound):
        views.article_views(uow=uow, slug="old-name", now=NOW)


def test_popular_orders_by_count_breaks_ties_by_slug_and_drops_deleted(uow: FakeUnitOfWork) -> None:
    replica.apply_author(repos=uow, change=Author("u1", "jake", NOW))
    for article_id, slug, reads in [
        ("a", "alpha", 3),
        ("b", "bravo", 2),
        ("c", "charlie", 2),
        ("d", "delta", 5),
    ]:
        _publish(uow, article_id, slug)
        _read(uow, article_id, *([0 * HOUR] * reads))
    replica.apply_article(
        repos=uow,
        change=Article(
            id="d", slug="delta", title="", author_id="u1", deleted=True, version=NOW + MINUTE
        ),
    )
    ranked = views.popular(uow=uow, window=Window.DAY, limit=10, now=NOW)
    assert [(p.slug, p.views, p.author_username) for p in ranked] == [
        ("alpha", 3, "jake"),
        ("bravo", 2, "jake"),
        ("charlie", 2, "jake"),
    ]
    assert [p.slug for p in views.popular(uow=uow, window=Window.ALL, limit=2, now=NOW)] == [
        "alpha",
        "bravo",
    ]


def test_popular_windows_only_count_their_time(uow: FakeUnitOfWork) -> None:
    _publish(uow, "a", "recent")
    _publish(uow, "b", "yesterday")
    _read(uow, "a", 0 * HOUR)
    _read(uow, "b", *([5 * HOUR] * 3))
    assert [p.slug for p in views.popular(uow=uow, window=Window.HOUR, limit=10, now=NOW)] == [
        "recent"
    ]
    assert [p.slug for p in views.popular(uow=uow, window=Window.DAY, limit=10, now=NOW)] == [
        "yesterday",
        "recent",
    ]
