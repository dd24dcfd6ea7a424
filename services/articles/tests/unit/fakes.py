"""Fakes for the articles service's ports, typed against them (`service_layer.ports`).

mypy checks these like production code: a fake that drifts from the protocol it stands in
for (a renamed method, a changed argument) fails `make lint` before any test runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_articles.domain.model import (
    Article,
    ArticleFilter,
    ArticleView,
    Author,
    Comment,
    CommentView,
    PageRequest,
    Profile,
    utc_now,
)
from newsroom_common.auth import AUDIENCE, ISSUER, Principal
from newsroom_common.ed25519 import PublicKey
from newsroom_common.errors import Unavailable
from newsroom_common.events import CloudEvent, Event

KEY = Ed25519PrivateKey.generate()
# The services' verifiers hold libsodium keys (newsroom_common.ed25519); tokens here are PyJWT's.
PUBLIC = PublicKey.from_raw(KEY.public_key().public_bytes_raw())


def token_for(user_id: str, username: str) -> str:
    """A token as the users service would sign it."""
    now = int(time.time())
    claims = {
        "sub": user_id,
        "username": username,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": "k1"})


class FakeStore:
    """The database the fake unit of work commits to."""

    def __init__(self) -> None:
        self.articles: dict[str, Article] = {}
        self.favorites: set[tuple[str, str]] = set()
        self.comments: dict[int, tuple[Comment, str, Any]] = {}
        self.profiles: dict[str, Profile] = {}
        self.follows: set[tuple[str, str]] = set()
        self.outbox: list[Event] = []

    def copy(self) -> FakeStore:
        clone = FakeStore()
        clone.articles = {k: dataclasses.replace(v) for k, v in self.articles.items()}
        clone.favorites = set(self.favorites)
        clone.comments = dict(self.comments)
        clone.profiles = dict(self.profiles)
        clone.follows = set(self.follows)
        clone.outbox = list(self.outbox)
        return clone


class _Repo:
    def __init__(self, work: FakeUnitOfWork) -> None:
        self.w = work

    @property
    def s(self) -> FakeStore:
        return self.w.state

    def author(self, user_id: str, viewer_id: str | None) -> Author:
        following = viewer_id is not None and (viewer_id, user_id) in self.s.follows
        profile = self.s.profiles.get(user_id)
        if profile is None:
            return Author(user_id, "", None, None, following, known=False)
        return Author(user_id, profile.username, profile.bio, profile.image, following)


class FakeArticles(_Repo):
    def get_by_slug(self, slug: str, *, for_update: bool = False) -> Article | None:
        found = [a for a in self.s.articles.values() if a.slug == slug]
        return dataclasses.replace(found[0]) if found else None

    def create(self, article: Article) -> ArticleView | None:
        if self.get_by_slug(article.slug) is not None:
            return None
        self.s.articles[article.id] = dataclasses.replace(article)
        return self._view(article, article.author_id)

    def update(self, article: Article, *, previous_tags: Sequence[str]) -> bool:
        other = self.get_by_slug(article.slug)
        if other is not None and other.id != article.id:
            return False
        self.s.articles[article.id] = dataclasses.replace(article)
        return True

    def delete(self, article: Article) -> None:
        del self.s.articles[article.id]
        self.s.favorites = {f for f in self.s.favorites if f[1] != article.id}
        self.s.comments = {
            k: v for k, v in self.s.comments.items() if v[0].article_id != article.id
        }

    def _view(self, article: Article, viewer_id: str | None) -> ArticleView:
        return ArticleView(
            article=dataclasses.replace(article),
            author=self.author(article.author_id, viewer_id),
            favorited=(viewer_id, article.id) in self.s.favorites,
            favorites_count=sum(1 for f in self.s.favorites if f[1] == article.id),
        )

    def view(self, slug: str, *, viewer_id: str | None) -> ArticleView | None:
        article = self.get_by_slug(slug)
        return None if article is None else self._view(article, viewer_id)

    def _matching(self, where: ArticleFilter) -> list[Article]:
        def named(user_id: str, name: str | None) -> bool:
            profile = self.s.profiles.get(user_id)
            return profile is not None and profile.username.lower() == (name or "").lower()

        found = []
        for a in self.s.articles.values():
            if where.tag is not None and where.tag not in a.tags:
                continue
            if where.author is not None and not named(a.author_id, where.author):
                continue
            if where.favorited is not None and not any(
                art == a.id and named(user, where.favorited) for user, art in self.s.favorites
            ):
                continue
            if where.followed_by is not None and (
                (where.followed_by, a.author_id) not in self.s.follows
            ):
                continue
            found.append(a)
        return sorted(found, key=lambda a: (a.created_at, a.id), reverse=True)

    def list(
        self, where: ArticleFilter, page: PageRequest, *, viewer_id: str | None
    ) -> list[ArticleView]:
        self.w.statements += 1
        matching = self._matching(where)[page.offset : page.offset + page.limit]
        return [self._view(a, viewer_id) for a in matching]

    def count(self, where: ArticleFilter) -> int:
        self.w.statements += 1
        return len(self._matching(where))


class FakeComments(_Repo):
    def get(self, comment_id: int) -> Comment | None:
        entry = self.s.comments.get(comment_id)
        return None if entry is None else entry[0]

    def list(self, article_id: str, *, viewer_id: str | None) -> list[CommentView]:
        ids = sorted(k for k, v in self.s.comments.items() if v[0].article_id == article_id)
        views = [self.view(i, viewer_id=viewer_id) for i in ids]
        return [v for v in views if v is not None]

    def create(self, *, article_id: str, author_id: str, body: str) -> int:
        comment_id = max(self.s.comments, default=0) + 1
        self.s.comments[comment_id] = (Comment(comment_id, article_id, author_id), body, utc_now())
        return comment_id

    def view(self, comment_id: int, *, viewer_id: str | None) -> CommentView | None:
        entry = self.s.comments.get(comment_id)
        if entry is None:
            return None
        comment, body, at = entry
        author = self.author(comment.author_id, viewer_id)
        return CommentView(comment.id, comment.article_id, body, author, at, at)

    def delete(self, comment_id: int) -> None:
        del self.s.comments[comment_id]


class FakeFavorites(_Repo):
    def create(self, user_id: str, article_id: str) -> bool:
        new = (user_id, article_id) not in self.s.favorites
        self.s.favorites.add((user_id, article_id))
        return new

    def delete(self, user_id: str, article_id: str) -> bool:
        had = (user_id, article_id) in self.s.favorites
        self.s.favorites.discard((user_id, article_id))
        return had


class FakeTags(_Repo):
    def list(self, *, limit: int) -> list[str]:
        counts: dict[str, int] = {}
        for article in self.s.articles.values():
            for tag in article.tags:
                counts[tag] = counts.get(tag, 0) + 1
        return sorted(counts, key=lambda t: (-counts[t], t))[:limit]


class FakeProfiles(_Repo):
    def get(self, user_id: str) -> Profile | None:
        return self.s.profiles.get(user_id)

    def upsert(self, profile: Profile) -> None:
        self.s.profiles[profile.id] = profile

    def add_if_absent(self, profile: Profile) -> None:
        self.s.profiles.setdefault(profile.id, profile)


class FakeFollows(_Repo):
    def create(self, follower_id: str, followee_id: str) -> None:
        self.s.follows.add((follower_id, followee_id))

    def delete(self, follower_id: str, followee_id: str) -> None:
        self.s.follows.discard((follower_id, followee_id))


class FakeUnitOfWork:
    """Works on a copy of the store; only commit() makes changes visible."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.state = store
        self.statements = 0
        self.articles = FakeArticles(self)
        self.comments = FakeComments(self)
        self.favorites = FakeFavorites(self)
        self.tags = FakeTags(self)
        self.profiles = FakeProfiles(self)
        self.follows = FakeFollows(self)

    def __enter__(self) -> Self:
        self.state = self.store.copy()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.state = self.store

    def publish(self, event: Event) -> CloudEvent:
        self.state.outbox.append(event)
        return CloudEvent.from_event(event, source="/test", type_prefix="test")

    def commit(self) -> None:
        for name in ("articles", "favorites", "comments", "profiles", "follows", "outbox"):
            setattr(self.store, name, getattr(self.state, name))
        self.state = self.store.copy()


class FakeDirectory:
    """The users service: a dict of profiles, or down."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self.down = False
        self.calls: list[str] = []

    def get(self, user_id: str) -> Profile | None:
        self.calls.append(user_id)
        if self.down:
            raise Unavailable("users is down")
        return self.profiles.get(user_id)


class FakeSink:
    """Collects published events."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> bool:
        self.events.append(event)
        return True


@dataclasses.dataclass
class Fakes:
    store: FakeStore
    directory: FakeDirectory
    views: FakeSink

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)

    def user(self, username: str, *, replicated: bool = True) -> Principal:
        user_id = f"00000000-0000-4000-8000-{abs(hash(username)) % 10**12:012d}"
        if replicated:
            self.store.profiles[user_id] = Profile(user_id, username, f"bio of {username}", None)
        return Principal(user_id=user_id, username=username, token=token_for(user_id, username))
