"""Use cases of articles, favorites and the feed. No Flask, no SQL: ports only."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence

from newsroom_articles.domain.events import (
    ArticleDeleted,
    ArticlePublished,
    ArticleUpdated,
    ArticleViewed,
)
from newsroom_articles.domain.model import (
    Article,
    ArticleFilter,
    ArticleView,
    Page,
    PageRequest,
    iso_ms,
    slug_candidates,
    slugify,
    utc_now,
    validate_article,
)
from newsroom_articles.service_layer import authors
from newsroom_articles.service_layer.ports import ArticlesUnitOfWork, EventSink, ProfileDirectory
from newsroom_common.auth import Principal
from newsroom_common.errors import Conflict, Forbidden, NotFound

UowFactory = Callable[[], ArticlesUnitOfWork]


def list_articles(
    *,
    uow: UowFactory,
    directory: ProfileDirectory,
    where: ArticleFilter,
    page: PageRequest,
    caller: Principal | None,
) -> Page:
    """Articles matching every filter, newest first, and how many match in all."""
    viewer_id = caller.user_id if caller else None
    with uow() as work:
        views = work.articles.list(where, page, viewer_id=viewer_id)
        # A first page shorter than the limit is every match: no count needed.
        count = len(views) if page.offset == 0 and len(views) < page.limit else None
        if count is None:
            count = work.articles.count(where)
    return Page(articles=_with_authors(uow, directory, views, caller=caller), count=count)


def feed(
    *, uow: UowFactory, directory: ProfileDirectory, page: PageRequest, caller: Principal
) -> Page:
    """Articles by the authors the caller follows, newest first.

    Read from the follows replica alone, with no call to users: a follow answers only once
    this replica holds it (users waits on the replica's committed offset), so a reader who
    just followed someone sees them in the very next feed.
    """
    return list_articles(
        uow=uow,
        directory=directory,
        where=ArticleFilter(followed_by=caller.user_id),
        page=page,
        caller=caller,
    )


def get(
    *,
    uow: UowFactory,
    directory: ProfileDirectory,
    views: EventSink,
    slug: str,
    caller: Principal | None,
    count_view: bool = True,
) -> ArticleView:
    """One article; every successful read emits ArticleViewed (from memory, never the DB)."""
    with uow() as work:
        view = _view_or_raise(work, slug, caller)
    (view,) = _with_authors(uow, directory, [view], caller=caller)
    if not count_view:
        return view
    views.publish(
        ArticleViewed(
            article_id=view.article.id,
            slug=view.article.slug,
            viewer_id=caller.user_id if caller else None,
            viewed_at=iso_ms(utc_now()),
        )
    )
    return view


def create(
    *,
    uow: UowFactory,
    directory: ProfileDirectory,
    caller: Principal,
    fields: Mapping[str, object],
) -> ArticleView:
    """Publish a new article by the caller; its slug comes from the title."""
    clean = validate_article(fields, required=True)
    now = utc_now()
    article = Article(
        id=str(uuid.uuid4()),
        slug="",
        title=str(clean["title"]),
        description=str(clean["description"]),
        body=str(clean["body"]),
        tags=_tags(clean),
        author_id=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    with uow() as work:
        for slug in slug_candidates(article.title, article.id):
            article.slug = slug
            view = work.articles.create(article)
            if view is not None:
                break
        else:
            raise Conflict("no free slug for this title")
        work.publish(ArticlePublished.of(article))
        work.commit()
    if not view.author.known:
        # The caller's registration event is still on its way: users is asked outside the
        # transaction (a slow users must never hold a connection), the replica completed.
        profile = authors.ensure_caller_profile(uow, directory, caller=caller)
        view = dataclasses.replace(
            view,
            author=dataclasses.replace(
                view.author,
                username=profile.username,
                bio=profile.bio,
                image=profile.image,
                known=True,
            ),
        )
    return view


def update(
    *,
    uow: UowFactory,
    directory: ProfileDirectory,
    caller: Principal,
    slug: str,
    fields: Mapping[str, object],
) -> ArticleView:
    """Change the caller's article; the slug follows the title and stays put otherwise."""
    clean = validate_article(fields, required=False)
    with uow() as work:
        article = _own_article(work, slug, caller)
        before = dataclasses.replace(article)
        article.title = str(clean.get("title", article.title))
        article.description = str(clean.get("description", article.description))
        article.body = str(clean.get("body", article.body))
        article.tags = _tags(clean) if "tags" in clean else article.tags
        if article != before:
            article.updated_at = utc_now()
            _save(work, article, before=before)
            work.publish(ArticleUpdated.of(article))
        view = _view_or_raise(work, article.slug, caller)
        work.commit()
    (view,) = _with_authors(uow, directory, [view], caller=caller)
    return view


def delete(*, uow: UowFactory, caller: Principal, slug: str) -> None:
    """Delete the caller's article with its comments and favorites."""
    with uow() as work:
        article = _own_article(work, slug, caller)
        work.articles.delete(article)
        work.publish(ArticleDeleted.of(article))
        work.commit()


def favorite(
    *, uow: UowFactory, directory: ProfileDirectory, caller: Principal, slug: str
) -> ArticleView:
    """Favorite an article; doing it twice changes nothing."""
    return _set_favorite(uow=uow, directory=directory, caller=caller, slug=slug, on=True)


def unfavorite(
    *, uow: UowFactory, directory: ProfileDirectory, caller: Principal, slug: str
) -> ArticleView:
    """Take a favorite back; idempotent."""
    return _set_favorite(uow=uow, directory=directory, caller=caller, slug=slug, on=False)


def _set_favorite(
    *, uow: UowFactory, directory: ProfileDirectory, caller: Principal, slug: str, on: bool
) -> ArticleView:
    if on:
        # `?favorited=<caller>` finds the caller by name in the replica.
        authors.ensure_caller_profile(uow, directory, caller=caller)
    with uow() as work:
        article = work.articles.get_by_slug(slug)
        if article is None:
            raise NotFound("article not found")
        if on:
            work.favorites.create(caller.user_id, article.id)
        else:
            work.favorites.delete(caller.user_id, article.id)
        view = _view_or_raise(work, slug, caller)
        work.commit()
    (view,) = _with_authors(uow, directory, [view], caller=caller)
    return view


def _save(work: ArticlesUnitOfWork, article: Article, *, before: Article) -> None:
    if slugify(article.title) == slugify(before.title):
        candidates = [before.slug]
    else:
        candidates = slug_candidates(article.title, article.id)
    for slug in candidates:
        article.slug = slug
        if work.articles.update(article, previous_tags=before.tags):
            return
    raise Conflict("no free slug for this title")


def _own_article(work: ArticlesUnitOfWork, slug: str, caller: Principal) -> Article:
    article = work.articles.get_by_slug(slug, for_update=True)
    if article is None:
        raise NotFound("article not found")
    if article.author_id != caller.user_id:
        raise Forbidden("only the author may change this article")
    return article


def _view_or_raise(work: ArticlesUnitOfWork, slug: str, caller: Principal | None) -> ArticleView:
    view = work.articles.view(slug, viewer_id=caller.user_id if caller else None)
    if view is None:
        raise NotFound("article not found")
    return view


def _with_authors(
    uow: UowFactory,
    directory: ProfileDirectory,
    views: Sequence[ArticleView],
    *,
    caller: Principal | None,
) -> list[ArticleView]:
    if all(v.author.known for v in views):
        return list(views)
    found = authors.resolve(uow, directory, [v.author for v in views], caller=caller)
    return [dataclasses.replace(v, author=found[v.author.id]) for v in views]


def _tags(clean: Mapping[str, object]) -> tuple[str, ...]:
    tags = clean.get("tags", ())
    assert isinstance(tags, tuple)
    return tags
