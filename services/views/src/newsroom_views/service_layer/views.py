"""Use cases of counting: record views, read an article's counts, rank the popular ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from newsroom_common.errors import NotFound
from newsroom_views.domain.model import (
    ArticleViews,
    Popular,
    Retention,
    View,
    Window,
    count,
    span,
)
from newsroom_views.service_layer.ports import Repositories, ViewsUnitOfWork

UowFactory = Callable[[], ViewsUnitOfWork]


def record_views(
    *, repos: Repositories, views: Sequence[View], now: dt.datetime, retention: Retention
) -> int:
    """Add never-seen views to the counts in the caller's transaction; return how many counted.

    Views of a deleted article are dropped: its counts stop growing.
    """
    if not views:
        return 0
    deleted = repos.articles.deleted_among({v.article_id for v in views})
    counted = [v for v in views if v.article_id not in deleted]
    increments = count(counted, now=now, retention=retention)
    if increments:
        repos.counts.add(increments)
    return len(counted)


def article_views(*, uow: UowFactory, slug: str, now: dt.datetime) -> ArticleViews:
    """An article's counts by its current slug; 404 when unknown or deleted."""
    with uow() as work:
        article = work.articles.get_by_slug(slug)
        if article is None:
            raise NotFound(fields={"article": ["not found"]})
        return ArticleViews(
            slug=article.slug,
            total=work.counts.total(article.id),
            last24h=work.counts.in_span(article.id, span(Window.DAY, now=now)),
            last7d=work.counts.in_span(article.id, span(Window.WEEK, now=now)),
        )


def popular(*, uow: UowFactory, window: Window, limit: int, now: dt.datetime) -> list[Popular]:
    """The most read live articles in `window`, most read first, ties by slug."""
    with uow() as work:
        return work.counts.popular(span(window, now=now), limit=limit)
