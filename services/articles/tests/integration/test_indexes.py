"""At 100,000 articles, every list filter is answered from an index: no Seq Scan on articles.

The articles schema is migrated into a scratch PostgreSQL schema of the articles
database, seeded with one INSERT ... SELECT generate_series, and the statements the
repository really sends are EXPLAINed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from newsroom_articles.adapters.articles import SqlArticleRepository, SqlTagRepository
from newsroom_articles.domain.model import ArticleFilter, PageRequest
from newsroom_articles.entrypoints.cli import MIGRATIONS
from newsroom_common.database_url import psycopg2_url
from newsroom_common.migrations import upgrade
from newsroom_devstack.postgres import Databases

pytestmark = pytest.mark.integration
ARTICLES = 100_000
AUTHORS = 1_000
READER = "user1"


def _uuid(kind: str, number: str) -> str:
    return f"md5('{kind}' || {number})::uuid"


SEED = [
    f"""INSERT INTO profiles (id, username)
        SELECT {_uuid("u", "i")}, 'user' || i FROM generate_series(0, {AUTHORS - 1}) AS i""",
    f"""INSERT INTO articles
            (id, slug, title, description, body, author_id, created_at, updated_at)
        SELECT {_uuid("a", "i")}, 'article-' || i, 'Article ' || i, 'about ' || i,
               repeat('words ', 50), {_uuid("u", f"mod(i, {AUTHORS})")},
               now() - i * interval '1 minute', now() - i * interval '1 minute'
        FROM generate_series(1, {ARTICLES}) AS i""",
    f"""INSERT INTO article_tags (article_id, tag)
        SELECT {_uuid("a", "i")}, 'tag' || mod(i, 200) FROM generate_series(1, {ARTICLES}) AS i
        UNION ALL
        SELECT {_uuid("a", "i")}, 'rare' FROM generate_series(1, {ARTICLES}, 1000) AS i""",
    f"""INSERT INTO favorites (user_id, article_id)
        SELECT {_uuid("u", "mod(i, 100)")}, {_uuid("a", "i")}
        FROM generate_series(1, {ARTICLES}, 2) AS i""",
    f"""INSERT INTO follows (follower_id, followee_id)
        SELECT {_uuid("u", "1")}, {_uuid("u", "j")} FROM generate_series(2, 41) AS j""",
    "INSERT INTO tags (name, articles_count) SELECT tag, count(*) FROM article_tags GROUP BY tag",
    "UPDATE counters SET value = (SELECT count(*) FROM articles) WHERE name = 'articles'",
    "ANALYZE",
]


@pytest.fixture(scope="module")
def seeded(postgres: Databases) -> Iterator[sa.Engine]:
    """A scratch schema with the articles tables and 100,000 articles."""
    url = postgres.database_url("articles")
    schema = f"explain_{os.getpid()}"
    engine = sa.create_engine(
        psycopg2_url(url), connect_args={"options": f"-c search_path={schema}"}
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    upgrade(url=scoped.render_as_string(hide_password=False), script_location=MIGRATIONS)
    with engine.begin() as conn:
        for statement in SEED:
            conn.exec_driver_sql(statement)
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def _reader_id(conn: sa.Connection) -> str:
    return str(conn.exec_driver_sql(f"SELECT {_uuid('u', '1')}").scalar_one())


def _plans(engine: sa.Engine, call: Any) -> list[str]:
    """Run `call(connection)`, then EXPLAIN every statement it sent, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    with engine.connect() as conn:
        sa.event.listen(conn, "before_cursor_execute", record)
        call(conn)
        sa.event.remove(conn, "before_cursor_execute", record)
        return [
            "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}", params))
            for sql, params in sent
        ]


FILTERS = {
    "newest": ArticleFilter(),
    "tag": ArticleFilter(tag="tag7"),
    "rare tag": ArticleFilter(tag="rare"),
    "author": ArticleFilter(author="User42"),
    "favorited": ArticleFilter(favorited=READER),
    "tag and author": ArticleFilter(tag="tag42", author="user42"),
    "all three": ArticleFilter(tag="tag7", author="user7", favorited="user7"),
}


@pytest.mark.parametrize("name", [*FILTERS, "feed"])
def test_no_filter_scans_the_articles_table(seeded: sa.Engine, name: str) -> None:
    def run(conn: sa.Connection) -> None:
        where = FILTERS.get(name) or ArticleFilter(followed_by=_reader_id(conn))
        repository = SqlArticleRepository(conn)
        page = repository.list(where, PageRequest(limit=20, offset=40), viewer_id=None)
        assert page, f"the {name} filter matched nothing: the plan would prove nothing"
        repository.count(where)

    plans = _plans(seeded, run)
    listed = [p for p in plans if "SELECT" not in p]  # every plan, EXPLAIN prints no SQL
    print(f"--- {name}", *listed, sep="\n")
    for plan in plans:
        assert "Seq Scan on articles" not in plan, plan


def test_a_single_article_and_the_tags_use_indexes(seeded: sa.Engine) -> None:
    def run(conn: sa.Connection) -> None:
        assert SqlArticleRepository(conn).view("article-500", viewer_id=_reader_id(conn))
        assert SqlTagRepository(conn).list(limit=100)

    for plan in _plans(seeded, run):
        assert "Seq Scan on articles" not in plan, plan
        assert "Seq Scan on tags" not in plan, plan
