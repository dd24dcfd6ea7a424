"""Reading the producers' CloudEvents into views and replica rows."""

from __future__ import annotations

import datetime as dt

import pytest

from newsroom_common.events import CloudEvent
from newsroom_views.domain.consumed_events import UnreadableEvent, article_of, author_of, view_of

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def _event(kind: str, **data: object) -> CloudEvent:
    return CloudEvent(id="e1", source="/test", type=f"dev.newsroom.x.{kind}", time=NOW, data=data)


def test_a_view_keeps_its_own_time() -> None:
    view = view_of(
        _event(
            "ArticleViewed",
            article_id="a1",
            slug="s",
            viewer_id=None,
            viewed_at="2026-11-20T08:15:00+00:00",
        )
    )
    assert view is not None
    assert view.viewed_at == dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC)
    assert view.event_id == "e1"


def test_a_time_without_offset_is_utc() -> None:
    view = view_of(_event("ArticleViewed", article_id="a1", viewed_at="2026-11-20T08:15:00"))
    assert view is not None
    assert view.viewed_at.tzinfo is dt.UTC


@pytest.mark.parametrize(
    "data",
    [{"article_id": "a1", "viewed_at": "yesterday"}, {"viewed_at": "2026-11-20T08:15:00Z"}, {}],
)
def test_a_view_breaking_the_contract_is_unreadable(data: dict[str, object]) -> None:
    with pytest.raises(UnreadableEvent):
        view_of(_event("ArticleViewed", **data))


def test_article_events_become_replica_rows() -> None:
    data = {"id": "a1", "slug": "s", "title": "T", "author_id": "u1", "tags": []}
    published = article_of(_event("ArticlePublished", **data))
    deleted = article_of(_event("ArticleDeleted", **data))
    assert published is not None
    assert not published.deleted
    assert published.version == NOW
    assert deleted is not None
    assert deleted.deleted


def test_other_types_are_not_ours() -> None:
    assert view_of(_event("ArticlePublished", id="a1")) is None
    assert article_of(_event("ArticleViewed", article_id="a1")) is None
    assert author_of(_event("UserFollowed", follower_id="u1", followee_id="u2")) is None
    author = author_of(_event("UserRegistered", id="u1", username="jake", bio="", image=""))
    assert author is not None
    assert author.username == "jake"
