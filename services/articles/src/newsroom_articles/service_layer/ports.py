"""What the use cases need from the outside world, as protocols (fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from newsroom_articles.domain.model import (
    Article,
    ArticleFilter,
    ArticleView,
    Comment,
    CommentView,
    PageRequest,
    Profile,
)
from newsroom_common.events import Event
from newsroom_common.ports import OutboxTransaction


class ArticleRepository(Protocol):
    """Articles and their tags; reads return what a given viewer sees."""

    def get_by_slug(self, slug: str, *, for_update: bool = False) -> Article | None: ...
    def create(self, article: Article) -> ArticleView | None:
        """Insert; the article as its author sees it, or None when the slug is taken (nothing
        written). The author is not `known` when the replica has no profile for them yet."""
        ...

    def update(self, article: Article, *, previous_tags: Sequence[str]) -> bool:
        """Save changes; False when the new slug is taken (nothing written)."""
        ...

    def delete(self, article: Article) -> None: ...
    def view(self, slug: str, *, viewer_id: str | None) -> ArticleView | None: ...
    def list(
        self, where: ArticleFilter, page: PageRequest, *, viewer_id: str | None
    ) -> list[ArticleView]: ...
    def count(self, where: ArticleFilter) -> int: ...


class CommentRepository(Protocol):
    """Comments on articles, oldest first."""

    def get(self, comment_id: int) -> Comment | None: ...
    def list(self, article_id: str, *, viewer_id: str | None) -> list[CommentView]: ...
    def create(self, *, article_id: str, author_id: str, body: str) -> int: ...
    def view(self, comment_id: int, *, viewer_id: str | None) -> CommentView | None: ...
    def delete(self, comment_id: int) -> None: ...


class FavoriteRepository(Protocol):
    """Who favorited what; the article's counter moves with it."""

    def create(self, user_id: str, article_id: str) -> bool: ...
    def delete(self, user_id: str, article_id: str) -> bool: ...


class TagRepository(Protocol):
    """Tags in use, most used first."""

    def list(self, *, limit: int) -> list[str]: ...


class ProfileRepository(Protocol):
    """The local replica of users' public profiles."""

    def get(self, user_id: str) -> Profile | None: ...
    def upsert(self, profile: Profile) -> None: ...
    def add_if_absent(self, profile: Profile) -> None: ...


class FollowRepository(Protocol):
    """The local replica of who follows whom."""

    def create(self, follower_id: str, followee_id: str) -> None: ...
    def delete(self, follower_id: str, followee_id: str) -> None: ...


class ArticlesUnitOfWork(OutboxTransaction, Protocol):
    """One transaction over the articles database, with the outbox."""

    @property
    def articles(self) -> ArticleRepository: ...
    @property
    def comments(self) -> CommentRepository: ...
    @property
    def favorites(self) -> FavoriteRepository: ...
    @property
    def tags(self) -> TagRepository: ...
    @property
    def profiles(self) -> ProfileRepository: ...
    @property
    def follows(self) -> FollowRepository: ...


class ReplicaUnitOfWork(Protocol):
    """The replica tables on the consumer's transaction (the runner commits)."""

    @property
    def profiles(self) -> ProfileRepository: ...
    @property
    def follows(self) -> FollowRepository: ...


class ProfileDirectory(Protocol):
    """The users service, asked for a profile the replica has not seen yet."""

    def get(self, user_id: str) -> Profile | None:
        """The profile, None when no such user; raises Unavailable when users is down."""
        ...


class EventSink(Protocol):
    """Sends events without waiting and without touching the database."""

    def publish(self, event: Event) -> bool:
        """Queue `event`; False when it had to be dropped."""
        ...
