"""Use cases of comments. No Flask, no SQL: ports only."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from newsroom_articles.domain.model import Article, CommentView, validate_comment
from newsroom_articles.service_layer import authors
from newsroom_articles.service_layer.ports import ArticlesUnitOfWork, ProfileDirectory
from newsroom_common.auth import Principal
from newsroom_common.errors import Forbidden, NotFound

UowFactory = Callable[[], ArticlesUnitOfWork]


def list_comments(
    *, uow: UowFactory, directory: ProfileDirectory, slug: str, caller: Principal | None
) -> list[CommentView]:
    """An article's comments, oldest first; 404 for an unknown article."""
    with uow() as work:
        article = _article_or_raise(work, slug)
        comments = work.comments.list(article.id, viewer_id=caller.user_id if caller else None)
    return _with_authors(uow, directory, comments, caller=caller)


def create(
    *,
    uow: UowFactory,
    directory: ProfileDirectory,
    caller: Principal,
    slug: str,
    body: object,
) -> CommentView:
    """Add the caller's comment to an article."""
    text = validate_comment(body)
    authors.ensure_caller_profile(uow, directory, caller=caller)
    with uow() as work:
        article = _article_or_raise(work, slug)
        comment_id = work.comments.create(
            article_id=article.id, author_id=caller.user_id, body=text
        )
        view = work.comments.view(comment_id, viewer_id=caller.user_id)
        assert view is not None
        work.commit()
    (view,) = _with_authors(uow, directory, [view], caller=caller)
    return view


def delete(*, uow: UowFactory, caller: Principal, slug: str, comment_id: int) -> None:
    """Delete the caller's own comment; 404 when it is not a comment of that article."""
    with uow() as work:
        article = _article_or_raise(work, slug)
        comment = work.comments.get(comment_id)
        if comment is None or comment.article_id != article.id:
            raise NotFound("comment not found")
        if comment.author_id != caller.user_id:
            raise Forbidden("only the author may delete this comment")
        work.comments.delete(comment_id)
        work.commit()


def _article_or_raise(work: ArticlesUnitOfWork, slug: str) -> Article:
    article = work.articles.get_by_slug(slug)
    if article is None:
        raise NotFound("article not found")
    return article


def _with_authors(
    uow: UowFactory,
    directory: ProfileDirectory,
    comments: list[CommentView],
    *,
    caller: Principal | None,
) -> list[CommentView]:
    if all(c.author.known for c in comments):
        return comments
    found = authors.resolve(uow, directory, [c.author for c in comments], caller=caller)
    return [dataclasses.replace(c, author=found[c.author.id]) for c in comments]
