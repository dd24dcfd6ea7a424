"""Events the articles service publishes.

Domain events go through the outbox to `articles.events.v1`; `ArticleViewed`
goes straight from memory to `articles.views.v1`. All are keyed by article id.
"""

from __future__ import annotations

import dataclasses
from typing import Self

from newsroom_articles.domain.model import Article
from newsroom_articles.topics import ARTICLES_EVENTS, ARTICLES_VIEWS
from newsroom_common.events import Event


@dataclasses.dataclass(frozen=True)
class ArticleEvent(Event):
    """What every article lifecycle event carries."""

    TOPIC = ARTICLES_EVENTS
    id: str
    slug: str
    title: str
    author_id: str
    tags: tuple[str, ...]

    def key(self) -> str:
        return self.id

    @classmethod
    def of(cls, article: Article) -> Self:
        """The event about `article` as it is now."""
        return cls(
            id=article.id,
            slug=article.slug,
            title=article.title,
            author_id=article.author_id,
            tags=article.tags,
        )


@dataclasses.dataclass(frozen=True)
class ArticlePublished(ArticleEvent):
    """A new article exists."""


@dataclasses.dataclass(frozen=True)
class ArticleUpdated(ArticleEvent):
    """An article's slug, title, description, body or tags changed."""


@dataclasses.dataclass(frozen=True)
class ArticleDeleted(ArticleEvent):
    """An article and its comments and favorites are gone."""


@dataclasses.dataclass(frozen=True)
class ArticleViewed(Event):
    """Someone read an article; `viewer_id` is None for anonymous readers."""

    TOPIC = ARTICLES_VIEWS
    article_id: str
    slug: str
    viewer_id: str | None
    viewed_at: str

    def key(self) -> str:
        return self.article_id
