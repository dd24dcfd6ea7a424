"""List items rendered once for the rows pages share, and exactly as rendered afresh."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from typing import Any

import orjson

from newsroom_articles.domain.model import Article, ArticleView, Author
from newsroom_articles.entrypoints.representations import ListItems, article_json

WHEN = dt.datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=dt.UTC)


def _view(n: int, *, favorited: bool = False, following: bool = False) -> ArticleView:
    article = Article(
        id=f"00000000-0000-4000-8000-{n:012d}",
        slug=f"title-{n}",
        title=f"Title {n}",
        description="a description",
        body="a body that lists leave out",
        tags=("go", "python"),
        author_id="a1",
        created_at=WHEN,
        updated_at=WHEN,
    )
    author = Author(id="a1", username="ann", bio=None, image=None, following=following)
    return ArticleView(article=article, author=author, favorited=favorited, favorites_count=n)


def _page(items: ListItems, views: list[ArticleView]) -> Any:
    return orjson.loads(orjson.dumps({"articles": items.render(views), "articlesCount": 9}))


def test_a_page_renders_as_its_rows_rendered_afresh() -> None:
    views = [_view(1), _view(2, favorited=True), _view(3, following=True)]
    articles = [article_json(v, with_body=False) for v in views]
    expected = {
        "articles": articles,
        "articlesCount": 9,
    }
    items = ListItems()
    assert _page(items, views) == expected
    # A second reader of the same rows gets the same JSON, from the kept items.
    assert _page(items, views) == expected
    assert all("body" not in a for a in articles)


def test_only_shared_rows_are_kept_and_each_by_its_own_object() -> None:
    items = ListItems()
    shared = _view(1)
    first = items.render([shared, _view(2, favorited=True), _view(3, following=True)])
    assert len(items) == 1  # a reader's flagged copies are not kept
    assert items.render([shared])[0] is first[0]

    # A row read again (a new object, e.g. after a write changed its favorites count) is
    # rendered from its own fields, never from an item kept for an equal-looking object.
    changed = dataclasses.replace(shared, favorites_count=42)
    (item,) = items.render([changed])
    assert orjson.loads(orjson.dumps(item))["favoritesCount"] == 42


def test_an_item_goes_with_its_row() -> None:
    items = ListItems()
    views = [_view(n) for n in range(10)]
    items.render(views)
    assert len(items) == 10
    del views[:5]
    gc.collect()
    assert len(items) == 5
    assert _page(items, views) == {
        "articles": [article_json(v, with_body=False) for v in views],
        "articlesCount": 9,
    }
