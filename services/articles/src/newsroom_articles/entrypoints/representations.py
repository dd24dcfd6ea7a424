"""The RealWorld JSON shapes of articles, comments and authors."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Sequence
from typing import Any

import orjson

from newsroom_articles.domain.model import ArticleView, Author, CommentView, iso_ms


def author_json(author: Author) -> dict[str, Any]:
    """The RealWorld `profile` object of an author."""
    return {
        "username": author.username,
        "bio": author.bio,
        "image": author.image,
        "following": author.following,
    }


def article_json(view: ArticleView, *, with_body: bool = True) -> dict[str, Any]:
    """The RealWorld `article` object; lists leave out the body (contract 1.1)."""
    article = view.article
    body: dict[str, Any] = {
        "slug": article.slug,
        "title": article.title,
        "description": article.description,
    }
    if with_body:
        body["body"] = article.body
    body.update(
        {
            "tagList": list(article.tags),
            "createdAt": iso_ms(article.created_at),
            "updatedAt": iso_ms(article.updated_at),
            "favorited": view.favorited,
            "favoritesCount": view.favorites_count,
            "author": author_json(view.author),
        }
    )
    return body


def comment_json(view: CommentView) -> dict[str, Any]:
    """The RealWorld `comment` object."""
    return {
        "id": view.id,
        "createdAt": iso_ms(view.created_at),
        "updatedAt": iso_ms(view.updated_at),
        "body": view.body,
        "author": author_json(view.author),
    }


class ListItems:
    """The list JSON of article rows that pages share between requests, rendered once.

    The read cache (adapters/read_cache.py) hands every reader of an unchanged page the
    same `ArticleView` objects for the rows that carry none of the reader's flags; their
    JSON is kept beside them, by identity, for as long as the object lives: a weak
    reference drops the item with its row, so this holds no row the cache has let go
    (keeping them, bounded, held 10 MiB more per worker while writes renewed the pages).
    Rows with a flag set are one reader's copies and are rendered each time, unkept.
    Rendering was 8% of a signed-in list page's CPU (73 µs for 20 rows).
    """

    def __init__(self) -> None:
        self._items: dict[int, tuple[weakref.ref[ArticleView], orjson.Fragment]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def render(self, views: Sequence[ArticleView]) -> list[orjson.Fragment]:
        """Each view's list item (no body) as JSON, for `orjson.dumps` to embed as it is."""
        return [self._item(v) for v in views]

    def _item(self, view: ArticleView) -> orjson.Fragment:
        if view.favorited or view.author.following:
            return _list_item(view)
        key = id(view)
        kept = self._items.get(key)
        if kept is not None and kept[0]() is view:
            return kept[1]
        fragment = _list_item(view)
        self._items[key] = (weakref.ref(view, functools.partial(self._forget, key)), fragment)
        return fragment

    def _forget(self, key: int, ref: weakref.ref[ArticleView]) -> None:
        # Only the item of the object that died: its id may already name a newer row.
        kept = self._items.get(key)
        if kept is not None and kept[0] is ref:
            self._items.pop(key, None)


def _list_item(view: ArticleView) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps(article_json(view, with_body=False)))
