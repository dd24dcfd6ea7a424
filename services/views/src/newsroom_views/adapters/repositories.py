"""Repositories over one connection: the replicas and the pre-aggregated counts."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from newsroom_common.consumer import prune_processed
from newsroom_views.adapters.tables import CountTables, articles, authors, live, processed_events
from newsroom_views.domain.model import Article, Author, Increments, Popular, Span
from newsroom_views.service_layer.ports import ArticleRepository, AuthorRepository, CountRepository


class SqlArticleRepository:
    """The article replica in PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, article_id: str) -> Article | None:
        row = self._c.execute(sa.select(articles).where(articles.c.id == article_id)).first()
        return None if row is None else Article(**row._mapping)

    def get_by_slug(self, slug: str) -> Article | None:
        row = self._c.execute(
            sa.select(articles)
            .where(articles.c.slug == slug, sa.not_(articles.c.deleted))
            .order_by(articles.c.version.desc(), articles.c.id)
            .limit(1)
        ).first()
        return None if row is None else Article(**row._mapping)

    def deleted_among(self, article_ids: Collection[str]) -> set[str]:
        if not article_ids:
            return set()
        query = sa.select(articles.c.id).where(
            articles.c.id.in_(sorted(article_ids)), articles.c.deleted
        )
        return set(self._c.scalars(query))

    def update(self, article: Article) -> None:
        values = vars(article)
        stmt = pg_insert(articles).values(**values)
        self._c.execute(
            stmt.on_conflict_do_update(
                index_elements=[articles.c.id],
                set_={k: stmt.excluded[k] for k in values if k != "id"},
            )
        )


class SqlAuthorRepository:
    """The author-name replica in PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, user_id: str) -> Author | None:
        row = self._c.execute(sa.select(authors).where(authors.c.id == user_id)).first()
        return None if row is None else Author(**row._mapping)

    def update(self, author: Author) -> None:
        stmt = pg_insert(authors).values(**vars(author))
        self._c.execute(
            stmt.on_conflict_do_update(
                index_elements=[authors.c.id],
                set_={"username": stmt.excluded.username, "version": stmt.excluded.version},
            )
        )


@functools.cache
def _adding(table: sa.Table) -> sa.Insert:
    """`INSERT ... SELECT unnest(...) ON CONFLICT add`: one statement and one round trip per
    table and batch, compiled once (a VALUES list would be compiled again for every size)."""
    columns = [c.name for c in table.columns]
    arrays = [sa.func.unnest(sa.bindparam(c.name, type_=pg.ARRAY(c.type))) for c in table.columns]
    stmt = pg_insert(table).from_select(columns, sa.select(*arrays))
    return stmt.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={"views": table.c.views + stmt.excluded.views},
    )


def _add(connection: Connection, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    if columns["views"]:
        connection.execute(_adding(table), columns)


class SqlCountRepository:
    """Counts per minute, per hour and all time, in the live tables or the rebuild's."""

    def __init__(self, connection: Connection, tables: CountTables = live) -> None:
        self._c = connection
        self._t = tables

    def add(self, increments: Increments) -> None:
        # Sorted keys: two transactions touching the same rows lock them in the same order,
        # so a rebalance overlap waits instead of deadlocking.
        for table, buckets in (
            (self._t.minutes, increments.minutes),
            (self._t.hours, increments.hours),
        ):
            keys = sorted(buckets)
            _add(
                self._c,
                table,
                {
                    "article_id": [a for a, _ in keys],
                    "bucket_start": [b for _, b in keys],
                    "views": [buckets[k] for k in keys],
                },
            )
        totals = sorted(increments.totals.items())
        _add(
            self._c,
            self._t.totals,
            {"article_id": [a for a, _ in totals], "views": [n for _, n in totals]},
        )

    def total(self, article_id: str) -> int:
        totals = self._t.totals
        query = sa.select(totals.c.views).where(totals.c.article_id == article_id)
        return int(self._c.scalar(query) or 0)

    def in_span(self, article_id: str, span: Span) -> int:
        if span.all_time:
            return self.total(article_id)
        parts = self._span_parts(span, article_id=article_id)
        query = sa.select(sa.func.coalesce(sa.func.sum(parts.c.views), 0))
        return int(self._c.scalar(query) or 0)

    def popular(self, span: Span, *, limit: int) -> list[Popular]:
        if span.all_time:
            sums = sa.select(
                self._t.totals.c.article_id, self._t.totals.c.views.label("views")
            ).subquery("sums")
        else:
            parts = self._span_parts(span)
            sums = (
                sa.select(parts.c.article_id, sa.func.sum(parts.c.views).label("views"))
                .group_by(parts.c.article_id)
                .subquery("sums")
            )
        query = (
            sa.select(articles.c.slug, articles.c.title, authors.c.username, sums.c.views)
            .join_from(sums, articles, articles.c.id == sums.c.article_id)
            .outerjoin(authors, authors.c.id == articles.c.author_id)
            .where(sa.not_(articles.c.deleted), sums.c.views > 0)
            # Same order as domain.model.rank: most read first, ties by slug.
            .order_by(sums.c.views.desc(), articles.c.slug, articles.c.id)
            .limit(limit)
        )
        return [
            Popular(slug=r.slug, title=r.title, author_username=r.username, views=int(r.views))
            for r in self._c.execute(query)
        ]

    def prune(self, *, minutes_before: dt.datetime, hours_before: dt.datetime) -> int:
        minutes, hours = self._t.minutes, self._t.hours
        gone = self._c.execute(minutes.delete().where(minutes.c.bucket_start < minutes_before))
        gone_hours = self._c.execute(hours.delete().where(hours.c.bucket_start < hours_before))
        return int(gone.rowcount or 0) + int(gone_hours.rowcount or 0)

    def _span_parts(self, span: Span, *, article_id: str | None = None) -> sa.Subquery:
        minutes, hours = self._t.minutes, self._t.hours
        selects: list[sa.Select[Any]] = []
        if span.minutes_from is not None:
            where = [minutes.c.bucket_start >= span.minutes_from]
            if span.minutes_until is not None:
                where.append(minutes.c.bucket_start < span.minutes_until)
            if article_id is not None:
                where.append(minutes.c.article_id == article_id)
            selects.append(sa.select(minutes.c.article_id, minutes.c.views).where(*where))
        if span.hours_from is not None:
            where = [hours.c.bucket_start >= span.hours_from]
            if article_id is not None:
                where.append(hours.c.article_id == article_id)
            selects.append(sa.select(hours.c.article_id, hours.c.views).where(*where))
        return sa.union_all(*selects).subquery("parts")


class SqlRepositories:
    """Every repository on one connection (a consumer's batch transaction)."""

    articles: ArticleRepository
    authors: AuthorRepository
    counts: CountRepository

    def __init__(self, connection: Connection, counts: CountTables = live) -> None:
        self.articles = SqlArticleRepository(connection)
        self.authors = SqlAuthorRepository(connection)
        self.counts = SqlCountRepository(connection, counts)


class SqlProcessedEvents:
    """The consumers' processed event ids (ports.ProcessedEvents); each prune commits alone."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def prune(self, *, older_than: dt.timedelta) -> int:
        """Delete ids processed longer than `older_than` ago; return how many."""
        return prune_processed(
            self._engine, processed_events, older_than_s=int(older_than.total_seconds())
        )
