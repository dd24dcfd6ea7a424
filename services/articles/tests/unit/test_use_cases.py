"""Use cases on fakes: authorization, slugs, events, and authors the replica has not seen."""

from __future__ import annotations

import functools

import pytest

from newsroom_articles.domain.events import (
    ArticleDeleted,
    ArticlePublished,
    ArticleUpdated,
    ArticleViewed,
)
from newsroom_articles.domain.model import ArticleFilter, PageRequest, Profile
from newsroom_articles.service_layer import articles, comments, tags
from newsroom_articles.service_layer.authors import UNKNOWN_USERNAME
from newsroom_common.auth import Principal
from newsroom_common.errors import Forbidden, NotFound

from .fakes import Fakes


def _create(fakes: Fakes, author: Principal, **fields: object) -> str:
    article = {"title": "Hello World", "description": "d", "body": "b", **fields}
    view = articles.create(uow=fakes.uow, directory=fakes.directory, caller=author, fields=article)
    return view.article.slug


def test_create_publishes_through_the_outbox(fakes: Fakes) -> None:
    alice = fakes.user("alice")
    slug = _create(fakes, alice, tagList=["b", "a"])
    assert slug == "hello-world"
    (event,) = fakes.store.outbox
    assert isinstance(event, ArticlePublished)
    assert (event.slug, event.author_id, event.tags) == (slug, alice.user_id, ("a", "b"))


def test_the_same_title_twice_gets_two_slugs(fakes: Fakes) -> None:
    alice = fakes.user("alice")
    first, second = _create(fakes, alice), _create(fakes, alice)
    assert first == "hello-world"
    assert second.startswith("hello-world-")


def test_the_slug_stays_unless_the_title_changes(fakes: Fakes) -> None:
    alice = fakes.user("alice")
    slug = _create(fakes, alice)
    update = functools.partial(
        articles.update, uow=fakes.uow, directory=fakes.directory, caller=alice, slug=slug
    )
    same = update(fields={"body": "new body", "title": "Hello, World!"})
    assert same.article.slug == slug
    assert same.article.title == "Hello, World!"
    moved = update(fields={"title": "Goodbye"})
    assert moved.article.slug == "goodbye"
    assert [type(e) for e in fakes.store.outbox] == [
        ArticlePublished,
        ArticleUpdated,
        ArticleUpdated,
    ]


def test_an_update_that_changes_nothing_publishes_nothing(fakes: Fakes) -> None:
    alice = fakes.user("alice")
    slug = _create(fakes, alice)
    articles.update(
        uow=fakes.uow, directory=fakes.directory, caller=alice, slug=slug, fields={"body": "b"}
    )
    assert len(fakes.store.outbox) == 1


def test_only_the_author_changes_or_deletes_an_article(fakes: Fakes) -> None:
    alice, bob = fakes.user("alice"), fakes.user("bob")
    slug = _create(fakes, alice)
    with pytest.raises(Forbidden):
        articles.update(
            uow=fakes.uow, directory=fakes.directory, caller=bob, slug=slug, fields={"body": "x"}
        )
    with pytest.raises(Forbidden):
        articles.delete(uow=fakes.uow, caller=bob, slug=slug)
    articles.delete(uow=fakes.uow, caller=alice, slug=slug)
    assert isinstance(fakes.store.outbox[-1], ArticleDeleted)
    with pytest.raises(NotFound):
        articles.delete(uow=fakes.uow, caller=alice, slug=slug)


def test_reading_emits_a_view_and_an_unknown_slug_does_not(fakes: Fakes) -> None:
    alice, bob = fakes.user("alice"), fakes.user("bob")
    slug = _create(fakes, alice)
    articles.get(uow=fakes.uow, directory=fakes.directory, views=fakes.views, slug=slug, caller=bob)
    articles.get(
        uow=fakes.uow, directory=fakes.directory, views=fakes.views, slug=slug, caller=None
    )
    with pytest.raises(NotFound):
        articles.get(
            uow=fakes.uow, directory=fakes.directory, views=fakes.views, slug="nope", caller=None
        )
    viewed = fakes.views.events
    assert all(isinstance(e, ArticleViewed) for e in viewed)
    assert [(e.slug, e.viewer_id) for e in viewed] == [(slug, bob.user_id), (slug, None)]  # type: ignore[attr-defined]


def test_an_author_missing_from_the_replica_is_fetched_and_stored(fakes: Fakes) -> None:
    alice = fakes.user("alice")
    slug = _create(fakes, alice)
    del fakes.store.profiles[alice.user_id]
    fakes.directory.profiles[alice.user_id] = Profile(alice.user_id, "alice", "from users", "")
    view = articles.get(
        uow=fakes.uow, directory=fakes.directory, views=fakes.views, slug=slug, caller=None
    )
    assert (view.author.username, view.author.bio) == ("alice", "from users")
    assert fakes.store.profiles[alice.user_id].bio == "from users"


def test_with_users_down_the_author_comes_from_the_token(fakes: Fakes) -> None:
    alice = fakes.user("alice", replicated=False)
    fakes.directory.down = True
    slug = _create(fakes, alice)
    del fakes.store.profiles[alice.user_id]
    mine = articles.get(
        uow=fakes.uow, directory=fakes.directory, views=fakes.views, slug=slug, caller=alice
    )
    assert mine.author.username == "alice"
    anonymous = articles.get(
        uow=fakes.uow, directory=fakes.directory, views=fakes.views, slug=slug, caller=None
    )
    assert anonymous.author.username == UNKNOWN_USERNAME


def test_a_new_writer_unknown_to_the_replica_is_added_from_users(fakes: Fakes) -> None:
    carol = fakes.user("carol", replicated=False)
    fakes.directory.profiles[carol.user_id] = Profile(carol.user_id, "carol", "hi", "")
    _create(fakes, carol)
    assert fakes.store.profiles[carol.user_id].bio == "hi"


def test_lists_count_every_match_and_filter_together(fakes: Fakes) -> None:
    alice, bob = fakes.user("alice"), fakes.user("bob")
    for i in range(5):
        _create(fakes, alice, title=f"a{i}", tagList=["x"] if i % 2 else ["y"])
    _create(fakes, bob, title="b", tagList=["x"])
    page = articles.list_articles(
        uow=fakes.uow,
        directory=fakes.directory,
        where=ArticleFilter(tag="x", author="ALICE"),
        page=PageRequest(limit=1, offset=0),
        caller=None,
    )
    assert page.count == 2
    # Articles made in the same millisecond may come in either order.
    assert [v.article.title for v in page.articles] in (["a3"], ["a1"])


def test_the_feed_shows_followed_authors_only(fakes: Fakes) -> None:
    alice, bob, carol = fakes.user("alice"), fakes.user("bob"), fakes.user("carol")
    _create(fakes, alice, title="by alice")
    _create(fakes, bob, title="by bob")
    fakes.store.follows.add((carol.user_id, bob.user_id))
    page = articles.feed(uow=fakes.uow, directory=fakes.directory, page=PageRequest(), caller=carol)
    assert [v.article.title for v in page.articles] == ["by bob"]
    assert page.articles[0].author.following


def test_the_feed_asks_users_nothing_and_answers_with_users_down(fakes: Fakes) -> None:
    alice, bob, carol = fakes.user("alice"), fakes.user("bob"), fakes.user("carol")
    _create(fakes, alice, title="by alice")
    _create(fakes, bob, title="by bob")
    fakes.store.follows.add((carol.user_id, bob.user_id))
    fakes.directory.down = True
    fakes.directory.calls.clear()
    page = articles.feed(uow=fakes.uow, directory=fakes.directory, page=PageRequest(), caller=carol)
    assert [v.article.title for v in page.articles] == ["by bob"]
    assert fakes.directory.calls == []


def test_favorites_count_once_per_user(fakes: Fakes) -> None:
    alice, bob = fakes.user("alice"), fakes.user("bob")
    slug = _create(fakes, alice)
    favorite = functools.partial(
        articles.favorite, uow=fakes.uow, directory=fakes.directory, caller=bob
    )
    favorite(slug=slug)
    view = favorite(slug=slug)
    assert (view.favorited, view.favorites_count) == (True, 1)
    view = articles.unfavorite(uow=fakes.uow, directory=fakes.directory, caller=bob, slug=slug)
    assert (view.favorited, view.favorites_count) == (False, 0)
    with pytest.raises(NotFound):
        favorite(slug="missing")


def test_only_a_comments_author_deletes_it(fakes: Fakes) -> None:
    alice, bob = fakes.user("alice"), fakes.user("bob")
    slug = _create(fakes, alice)
    other = _create(fakes, alice)
    comment = comments.create(
        uow=fakes.uow, directory=fakes.directory, caller=bob, slug=slug, body="first!"
    )
    with pytest.raises(Forbidden):
        comments.delete(uow=fakes.uow, caller=alice, slug=slug, comment_id=comment.id)
    with pytest.raises(NotFound):
        comments.delete(uow=fakes.uow, caller=bob, slug=other, comment_id=comment.id)
    with pytest.raises(NotFound):
        comments.delete(uow=fakes.uow, caller=bob, slug=slug, comment_id=comment.id + 1)
    comments.delete(uow=fakes.uow, caller=bob, slug=slug, comment_id=comment.id)
    listed = comments.list_comments(
        uow=fakes.uow, directory=fakes.directory, slug=slug, caller=None
    )
    assert listed == []


def test_tags_most_used_first(fakes: Fakes) -> None:
    alice = fakes.user("alice")
    _create(fakes, alice, tagList=["rare", "common"])
    _create(fakes, alice, tagList=["common"])
    assert tags.list_tags(uow=fakes.uow, limit=10) == ["common", "rare"]
