"""Articles, their tags, favorites and tag counters in PostgreSQL.

A page of articles is one statement (authors, `following`, `favorited` and
tags come with each row) and its total another: no query per article.

The reads that every page view makes (an article by slug, the newest page) are
built once, with the reader, slug and page as bind parameters: SQLAlchemy then
neither builds nor keys a statement per request, it only binds values (building
them per request was a fifth of a single-article read's time in `make bench`).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from newsroom_articles.adapters.read_cache import ReadCache, personal, public
from newsroom_articles.adapters.replica import author_columns, author_of
from newsroom_articles.adapters.tables import (
    article_tags,
    articles,
    counters,
    favorites,
    follows,
    profiles,
    tags,
)
from newsroom_articles.domain.model import Article, ArticleFilter, ArticleView, PageRequest

_a = articles.c
ARTICLES_COUNTER = "articles"
_ARTICLE = (
    _a.id,
    _a.slug,
    _a.title,
    _a.description,
    _a.body,
    _a.author_id,
    _a.created_at,
    _a.updated_at,
)


def _tag_array() -> sa.ColumnElement[Any]:
    # ARRAY(subquery) reads the article's tags from the primary key, already sorted.
    tag_rows = (
        sa.select(article_tags.c.tag)
        .where(article_tags.c.article_id == _a.id)
        .order_by(article_tags.c.tag)
    )
    return sa.func.array(tag_rows.scalar_subquery()).label("tags")


# The reader, bound when a statement runs; an anonymous reader binds None (`= NULL`
# matches nothing, so `favorited` and `following` are false).
_VIEWER: sa.BindParameter[str] = sa.bindparam("viewer", type_=pg.UUID(as_uuid=False))


def _favorited() -> sa.ColumnElement[Any]:
    return (
        sa.select(sa.literal(True))
        .where(favorites.c.user_id == _VIEWER, favorites.c.article_id == _a.id)
        .exists()
        .label("favorited")
    )


def _users_named(username: str) -> sa.Select[Any]:
    return sa.select(profiles.c.id).where(sa.func.lower(profiles.c.username) == username.lower())


def _conditions(where: ArticleFilter) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses for a filter; each is answered from an index."""
    conditions: list[sa.ColumnElement[bool]] = []
    if where.tag is not None:
        tagged = sa.select(article_tags.c.article_id).where(article_tags.c.tag == where.tag)
        conditions.append(_a.id.in_(tagged))
    if where.author is not None:
        conditions.append(_a.author_id.in_(_users_named(where.author)))
    if where.favorited is not None:
        favored = sa.select(favorites.c.article_id).where(
            favorites.c.user_id.in_(_users_named(where.favorited))
        )
        conditions.append(_a.id.in_(favored))
    if where.followed_by is not None:
        followed = sa.select(follows.c.followee_id).where(
            follows.c.follower_id == where.followed_by
        )
        conditions.append(_a.author_id.in_(followed))
    return conditions


def _feed_page(follower_id: str, page: PageRequest) -> sa.Select[Any]:
    """Ids of a page of the feed: the newest of each followed author, merged.

    Each author's articles come newest first from the author index, so the
    page never depends on how many articles other people wrote.
    """
    newest = (
        sa.select(_a.id, _a.created_at)
        .where(_a.author_id == follows.c.followee_id)
        .order_by(_a.created_at.desc(), _a.id.desc())
        .limit(page.offset + page.limit)
        .lateral("newest")
    )
    return (
        sa.select(newest.c.id)
        .select_from(follows.join(newest, sa.true()))
        .where(follows.c.follower_id == follower_id)
        .order_by(newest.c.created_at.desc(), newest.c.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )


def _feed_count(follower_id: str) -> sa.Select[Any]:
    """How many articles the feed has: a sum of per-author counts, each from the author index."""
    per_author = (
        sa.select(sa.func.count()).where(_a.author_id == follows.c.followee_id).scalar_subquery()
    )
    return sa.select(sa.func.coalesce(sa.func.sum(per_author), 0)).where(
        follows.c.follower_id == follower_id
    )


def _view_query(*, with_body: bool) -> sa.Select[Any]:
    # author_id comes with the author's columns.
    skipped = {"author_id"} if with_body else {"author_id", "body"}
    columns = [c for c in _ARTICLE if c.key not in skipped]
    return sa.select(
        *columns,
        _a.favorites_count,
        _favorited(),
        _tag_array(),
        *author_columns(_a.author_id, _VIEWER),
    ).select_from(articles.outerjoin(profiles, profiles.c.id == _a.author_id))


_BY_SLUG = _view_query(with_body=True).where(_a.slug == sa.bindparam("slug"))
_LIST = _view_query(with_body=False).order_by(_a.created_at.desc(), _a.id.desc())
_TOTAL = sa.select(counters.c.value).where(counters.c.name == ARTICLES_COUNTER)
_NEWEST = _LIST.limit(sa.bindparam("limit", type_=sa.Integer)).offset(
    sa.bindparam("offset", type_=sa.Integer)
)


# A new article in one statement (one round trip): the row, its tags, the tag and article
# counters, and the author's replicated profile for the answer. Every part hangs on the
# INSERT's RETURNING: a slug already taken inserts nothing anywhere and returns no row. The
# tag rows' foreign key is checked at the end of the statement, once the article is in.
_CREATE = sa.text(
    """
    WITH inserted AS (
        INSERT INTO articles (id, slug, title, description, body, author_id, created_at,
                              updated_at)
        VALUES (:id, :slug, :title, :description, :body, :author_id, :created_at, :updated_at)
        ON CONFLICT (slug) DO NOTHING
        RETURNING id
    ), tagged AS (
        INSERT INTO article_tags (article_id, tag)
        SELECT inserted.id, tag FROM inserted, unnest(CAST(:tags AS text[])) AS tag
        RETURNING tag
    ), counted_tags AS (
        INSERT INTO tags (name, articles_count)
        SELECT tag, 1 FROM inserted, unnest(CAST(:tags AS text[])) AS tag ORDER BY tag
        ON CONFLICT (name) DO UPDATE SET articles_count = tags.articles_count + 1
    ), counted AS (
        INSERT INTO counters (name, value) SELECT :counter, 1 FROM inserted
        ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
    )
    SELECT ARRAY(SELECT tag FROM tagged ORDER BY tag) AS tags,
           CAST(:author_id AS text) AS author_id,
           profiles.username AS author_username,
           profiles.bio AS author_bio,
           profiles.image AS author_image,
           false AS author_following
    FROM inserted LEFT JOIN profiles ON profiles.id = CAST(:author_id AS uuid)
    """
).bindparams(
    sa.bindparam("tags", type_=pg.ARRAY(sa.Text)),
    sa.bindparam("counter", value=ARTICLES_COUNTER),
)


def _view(row: Any, *, with_body: bool) -> ArticleView:
    article = Article(
        id=row.id,
        slug=row.slug,
        title=row.title,
        description=row.description,
        # A list's rows have no body (a missing key raises inside SQLAlchemy: not cheap).
        body=row.body if with_body else "",
        tags=tuple(row.tags),
        author_id=row.author_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
    return ArticleView(
        article=article,
        author=author_of(row),
        favorited=bool(row.favorited),
        favorites_count=row.favorites_count,
    )


class SqlArticleRepository:
    """Articles in PostgreSQL; lists through a ReadCache when given one (the read routes)."""

    def __init__(self, connection: Connection, cache: ReadCache | None = None) -> None:
        self._c = connection
        self._cache = cache
        # The snapshot this unit of work checked a cached list against (see read_cache).
        self._snapshot: str | None = None

    def get_by_slug(self, slug: str, *, for_update: bool = False) -> Article | None:
        query = sa.select(*_ARTICLE, _tag_array()).where(_a.slug == slug)
        if for_update:
            query = query.with_for_update(of=articles)
        row = self._c.execute(query).first()
        if row is None:
            return None
        return Article(**{**row._mapping, "tags": tuple(row.tags)})

    def create(self, article: Article) -> ArticleView | None:
        row = self._c.execute(
            _CREATE,
            {
                "id": article.id,
                "slug": article.slug,
                "title": article.title,
                "description": article.description,
                "body": article.body,
                "author_id": article.author_id,
                "created_at": article.created_at,
                "updated_at": article.updated_at,
                # Sorted: concurrent writers lock tag counter rows in the same order.
                "tags": sorted(article.tags),
            },
        ).first()
        if row is None:
            return None
        # The tags as the database orders them (its collation), as every later read will.
        created = dataclasses.replace(article, tags=tuple(row.tags))
        return ArticleView(
            article=created, author=author_of(row), favorited=False, favorites_count=0
        )

    def update(self, article: Article, *, previous_tags: Sequence[str]) -> bool:
        try:
            # A savepoint: a slug taken meanwhile must not abort the whole transaction.
            with self._c.begin_nested():
                self._c.execute(
                    articles.update()
                    .where(_a.id == article.id)
                    .values(
                        slug=article.slug,
                        title=article.title,
                        description=article.description,
                        body=article.body,
                        updated_at=article.updated_at,
                    )
                )
        except sa.exc.IntegrityError as exc:
            if (
                getattr(getattr(exc.orig, "diag", None), "constraint_name", "")
                != "articles_slug_key"
            ):
                raise
            return False
        added = sorted(set(article.tags) - set(previous_tags))
        removed = sorted(set(previous_tags) - set(article.tags))
        if removed:
            self._c.execute(
                article_tags.delete().where(
                    article_tags.c.article_id == article.id, article_tags.c.tag.in_(removed)
                )
            )
            self._count_tags(removed, -1)
        self._add_tags(article.id, added)
        return True

    def delete(self, article: Article) -> None:
        # Comments, favorites and tag rows go with it (ON DELETE CASCADE).
        self._c.execute(articles.delete().where(_a.id == article.id))
        self._count_tags(sorted(article.tags), -1)
        self._count_articles(-1)

    def view(self, slug: str, *, viewer_id: str | None) -> ArticleView | None:
        row = self._c.execute(_BY_SLUG, {"slug": slug, "viewer": viewer_id}).first()
        return None if row is None else _view(row, with_body=True)

    def list(
        self, where: ArticleFilter, page: PageRequest, *, viewer_id: str | None
    ) -> list[ArticleView]:
        # A feed page is its follower's own: its key names the follower, and only they ask
        # for it (the feed reads the follows replica alone, which users' follows wait for).
        if self._cache is None:
            return self._list(where, page, viewer_id=viewer_id)
        key = ("page", where, page.limit, page.offset)
        check = self._cache.check(self._c, key, viewer_id)
        self._snapshot = check.snapshot
        cached = self._cache.get(key, check.snapshot)
        if cached is not None:
            return personal(cached, check)
        views = self._list(where, page, viewer_id=viewer_id)
        self._cache.put(key, check.snapshot, public(views), views=views)
        return views

    def _list(
        self, where: ArticleFilter, page: PageRequest, *, viewer_id: str | None
    ) -> builtins.list[ArticleView]:
        viewer = {"viewer": viewer_id}
        if where == ArticleFilter():
            rows = self._c.execute(_NEWEST, {**viewer, "limit": page.limit, "offset": page.offset})
        elif where == ArticleFilter(followed_by=where.followed_by) and where.followed_by:
            rows = self._c.execute(
                _LIST.where(_a.id.in_(_feed_page(where.followed_by, page))), viewer
            )
        else:
            query = _LIST.where(*_conditions(where)).limit(page.limit).offset(page.offset)
            rows = self._c.execute(query, viewer)
        return [_view(row, with_body=False) for row in rows]

    def count(self, where: ArticleFilter) -> int:
        if self._cache is None or self._snapshot is None:
            return self._count(where)
        key = ("count", where)
        cached = self._cache.get(key, self._snapshot)
        if cached is not None:
            return int(cached)
        total = self._count(where)
        self._cache.put(key, self._snapshot, total)
        return total

    def _count(self, where: ArticleFilter) -> int:
        conditions = _conditions(where)
        if not conditions:
            return int(self._c.scalar(_TOTAL) or 0)
        if where == ArticleFilter(followed_by=where.followed_by) and where.followed_by:
            return int(self._c.scalar(_feed_count(where.followed_by)) or 0)
        query = sa.select(sa.func.count()).select_from(articles).where(*conditions)
        return int(self._c.scalar(query) or 0)

    def _count_articles(self, delta: int) -> None:
        statement = pg_insert(counters).values(name=ARTICLES_COUNTER, value=max(delta, 0))
        self._c.execute(
            statement.on_conflict_do_update(
                index_elements=[counters.c.name], set_={"value": counters.c.value + delta}
            )
        )

    def _add_tags(self, article_id: str, names: Sequence[str]) -> None:
        if not names:
            return
        self._c.execute(
            article_tags.insert(), [{"article_id": article_id, "tag": t} for t in names]
        )
        self._count_tags(sorted(names), +1)

    def _count_tags(self, names: Sequence[str], delta: int) -> None:
        # Sorted names: concurrent writers lock counter rows in the same order, never deadlock.
        if not names:
            return
        statement = pg_insert(tags).values(
            [{"name": name, "articles_count": max(delta, 0)} for name in names]
        )
        self._c.execute(
            statement.on_conflict_do_update(
                index_elements=[tags.c.name],
                set_={"articles_count": tags.c.articles_count + delta},
            )
        )


class SqlFavoriteRepository:
    """Favorites in PostgreSQL; the article's counter moves in the same statement chain."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def create(self, user_id: str, article_id: str) -> bool:
        inserted = self._c.execute(
            pg_insert(favorites)
            .values(user_id=user_id, article_id=article_id)
            .on_conflict_do_nothing()
            .returning(favorites.c.article_id)
        ).first()
        if inserted is not None:
            self._bump(article_id, +1)
        return inserted is not None

    def delete(self, user_id: str, article_id: str) -> bool:
        deleted = self._c.execute(
            favorites.delete()
            .where(favorites.c.user_id == user_id, favorites.c.article_id == article_id)
            .returning(favorites.c.article_id)
        ).first()
        if deleted is not None:
            self._bump(article_id, -1)
        return deleted is not None

    def _bump(self, article_id: str, delta: int) -> None:
        self._c.execute(
            articles.update()
            .where(_a.id == article_id)
            .values(favorites_count=_a.favorites_count + delta)
        )


class SqlTagRepository:
    """Tag counters in PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def list(self, *, limit: int) -> list[str]:
        query = (
            sa.select(tags.c.name)
            .where(tags.c.articles_count > 0)
            .order_by(tags.c.articles_count.desc(), tags.c.name)
            .limit(limit)
        )
        return list(self._c.scalars(query))
