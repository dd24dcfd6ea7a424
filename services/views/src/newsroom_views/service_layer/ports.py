"""What the use cases need from the outside world, as protocols (fakes in unit tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Protocol

from newsroom_common.ports import Transaction
from newsroom_views.domain.model import (
    Article,
    Author,
    Increments,
    Popular,
    Span,
)


class ArticleRepository(Protocol):
    """The replica of articles (tombstones included)."""

    def get(self, article_id: str) -> Article | None: ...
    def get_by_slug(self, slug: str) -> Article | None: ...
    def deleted_among(self, article_ids: Collection[str]) -> set[str]: ...
    def update(self, article: Article) -> None: ...


class AuthorRepository(Protocol):
    """The replica of user names."""

    def get(self, user_id: str) -> Author | None: ...
    def update(self, author: Author) -> None: ...


class CountRepository(Protocol):
    """Pre-aggregated counts: per minute, per hour and all time."""

    def add(self, increments: Increments) -> None: ...
    def total(self, article_id: str) -> int: ...
    def in_span(self, article_id: str, span: Span) -> int: ...
    def popular(self, span: Span, *, limit: int) -> list[Popular]: ...
    def prune(self, *, minutes_before: dt.datetime, hours_before: dt.datetime) -> int: ...


class Repositories(Protocol):
    """Every repository, on one transaction (a consumer's batch or a unit of work)."""

    @property
    def articles(self) -> ArticleRepository: ...
    @property
    def authors(self) -> AuthorRepository: ...
    @property
    def counts(self) -> CountRepository: ...


class ViewsUnitOfWork(Repositories, Transaction, Protocol):
    """One transaction over the views database."""


class TopicRetention(Protocol):
    """How long Kafka can still redeliver a record of the views topic (its configuration)."""

    # None: the topic keeps its records forever. Raises when the configuration cannot be read.
    def redelivery_horizon(self) -> dt.timedelta | None: ...


class ProcessedEvents(Protocol):
    """The ids of the events the consumers applied: their deduplication record."""

    def prune(self, *, older_than: dt.timedelta) -> int: ...
