"""In-memory fakes of the views service's ports."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection
from types import TracebackType
from typing import Self

from newsroom_views.domain.model import (
    Article,
    Author,
    Increments,
    Popular,
    Span,
    rank,
)


class FakeArticles:
    def __init__(self) -> None:
        self.rows: dict[str, Article] = {}

    def get(self, article_id: str) -> Article | None:
        return self.rows.get(article_id)

    def get_by_slug(self, slug: str) -> Article | None:
        live = [a for a in self.rows.values() if a.slug == slug and not a.deleted]
        return max(live, key=lambda a: a.version, default=None)

    def deleted_among(self, article_ids: Collection[str]) -> set[str]:
        return {i for i in article_ids if i in self.rows and self.rows[i].deleted}

    def update(self, article: Article) -> None:
        self.rows[article.id] = article


class FakeAuthors:
    def __init__(self) -> None:
        self.rows: dict[str, Author] = {}

    def get(self, user_id: str) -> Author | None:
        return self.rows.get(user_id)

    def update(self, author: Author) -> None:
        self.rows[author.id] = author


class FakeCounts:
    def __init__(self, articles: FakeArticles, authors: FakeAuthors) -> None:
        self.minutes: Counter[tuple[str, dt.datetime]] = Counter()
        self.hours: Counter[tuple[str, dt.datetime]] = Counter()
        self.totals: Counter[str] = Counter()
        self._articles = articles
        self._authors = authors

    def add(self, increments: Increments) -> None:
        self.minutes.update(increments.minutes)
        self.hours.update(increments.hours)
        self.totals.update(increments.totals)

    def total(self, article_id: str) -> int:
        return self.totals[article_id]

    def in_span(self, article_id: str, span: Span) -> int:
        return self._sums(span)[article_id]

    def popular(self, span: Span, *, limit: int) -> list[Popular]:
        entries = []
        for article_id, views in self._sums(span).items():
            article = self._articles.get(article_id)
            if article is None or article.deleted or views <= 0:
                continue
            author = self._authors.get(article.author_id)
            entries.append(
                Popular(
                    slug=article.slug,
                    title=article.title,
                    author_username=author.username if author else None,
                    views=views,
                )
            )
        return rank(entries, limit=limit)

    def prune(self, *, minutes_before: dt.datetime, hours_before: dt.datetime) -> int:
        old = [k for k in self.minutes if k[1] < minutes_before]
        old_hours = [k for k in self.hours if k[1] < hours_before]
        for k in old:
            del self.minutes[k]
        for k in old_hours:
            del self.hours[k]
        return len(old) + len(old_hours)

    def _sums(self, span: Span) -> Counter[str]:
        if span.all_time:
            return Counter(self.totals)
        sums: Counter[str] = Counter()
        for (article_id, start), n in self.minutes.items():
            after_start = span.minutes_from is not None and start >= span.minutes_from
            if after_start and (span.minutes_until is None or start < span.minutes_until):
                sums[article_id] += n
        for (article_id, start), n in self.hours.items():
            if span.hours_from is not None and start >= span.hours_from:
                sums[article_id] += n
        return sums


class FakeUnitOfWork:
    """Shares state across instances like a database; also serves as a consumer's repositories."""

    def __init__(self) -> None:
        self.articles = FakeArticles()
        self.authors = FakeAuthors()
        self.counts = FakeCounts(self.articles, self.authors)

    def __call__(self) -> Self:
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        return None
