"""The RealWorld JSON shapes of articles, comments and authors."""

from __future__ import annotations

from typing import Any

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
