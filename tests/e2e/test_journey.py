"""The platform as one: a writer and a reader through the gateway, with no pause between steps.

Only the view counts are polled: they cross Kafka and are eventually consistent by design;
and the tags, which a gateway's shared cache may keep for their max-age. Everything else,
the feed right after a follow included, must read its own writes at once (a follow answers
only once articles' follows replica holds it, so the feed, which reads only that replica,
cannot lag).
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Client, eventually

pytestmark = pytest.mark.e2e


def test_register_write_follow_feed_favorite_comment_read_count_and_rank(client: Client) -> None:
    writer = client.register("writer")
    reader = client.register("reader")

    # log in again, as a front end does on a new device
    login = client.call(
        "POST",
        "/api/users/login",
        expect=200,
        json={"user": {"email": reader.email, "password": "correct horse 1"}},
    )
    assert login["user"]["username"] == reader.username
    me = client.call("GET", "/api/user", expect=200, as_=reader)
    assert me["user"]["email"] == reader.email

    # write
    draft = {
        "title": f"How to train your dragon {writer.username}",
        "description": "Ever wonder how?",
        "body": "You have to believe",
        "tagList": ["dragons", "training"],
    }
    article = client.call("POST", "/api/articles", expect=201, as_=writer, json={"article": draft})[
        "article"
    ]
    slug = article["slug"]
    assert (article["title"], article["tagList"], article["favoritesCount"]) == (
        draft["title"],
        ["dragons", "training"],
        0,
    )
    assert article["author"]["username"] == writer.username

    # follow, then the feed has the article
    profile = client.call(
        "POST", f"/api/profiles/{writer.username}/follow", expect=200, as_=reader
    )["profile"]
    assert (profile["username"], profile["following"]) == (writer.username, True)
    feed = client.call("GET", "/api/articles/feed", expect=200, as_=reader)
    assert [a["slug"] for a in feed["articles"]] == [slug]
    assert feed["articlesCount"] == 1
    assert feed["articles"][0]["author"]["following"] is True

    # favorite
    favorited = client.call("POST", f"/api/articles/{slug}/favorite", expect=200, as_=reader)
    assert (favorited["article"]["favorited"], favorited["article"]["favoritesCount"]) == (True, 1)
    mine = client.call("GET", f"/api/articles?favorited={reader.username}", expect=200)
    assert [a["slug"] for a in mine["articles"]] == [slug]

    # comment
    comment = client.call(
        "POST",
        f"/api/articles/{slug}/comments",
        expect=200,
        as_=reader,
        json={"comment": {"body": "Thank you so much!"}},
    )["comment"]
    assert (comment["body"], comment["author"]["username"]) == (
        "Thank you so much!",
        reader.username,
    )
    comments = client.call("GET", f"/api/articles/{slug}/comments", expect=200)["comments"]
    assert [c["id"] for c in comments] == [comment["id"]]

    # read: each successful read of the article is a view
    reads: list[dict[str, Any]] = [
        client.call("GET", f"/api/articles/{slug}", expect=200, as_=reader)["article"],
        client.call("GET", f"/api/articles/{slug}", expect=200)["article"],
        client.call("GET", f"/api/articles/{slug}", expect=200, as_=writer)["article"],
    ]
    assert reads[0]["body"] == draft["body"]
    assert (reads[0]["favorited"], reads[0]["author"]["following"]) == (True, True)
    assert (reads[1]["favorited"], reads[1]["favoritesCount"]) == (False, 1)
    by_tag = client.call("GET", "/api/articles?tag=dragons&limit=100", expect=200)
    assert slug in [a["slug"] for a in by_tag["articles"]]
    # The tags are the one answer here a shared cache may hold: behind a gateway with its cache
    # on (the chart's, on the local cluster) they are public for max-age (5 s), so a list
    # fetched just before the article existed can still be served; without it, at once.
    eventually(
        lambda: "dragons" in client.call("GET", "/api/tags", expect=200)["tags"],
        what="the new tag in /api/tags (within the gateway cache's max-age)",
        timeout=30,
    )

    # view counts: eventually, exactly the reads (the views service may not know the
    # article yet: ArticlePublished reaches its replica through Kafka, so 404 until then)
    def counted() -> dict[str, Any] | None:
        response = client.session.get(f"{client.base_url}/api/articles/{slug}/views", timeout=15)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        views: dict[str, Any] = response.json()["views"]
        return views if views["total"] >= len(reads) else None

    views = eventually(counted, what=f"{len(reads)} views of {slug}")
    assert views == {
        "slug": slug,
        "total": len(reads),
        "last24h": len(reads),
        "last7d": len(reads),
    }

    # popular: the article ranks with its views, title and author (the author's name reaches
    # views through users' events, a topic of its own: it may come after the article's)
    def ranked() -> dict[str, Any] | None:
        popular = client.call("GET", "/api/views/popular?window=1h&limit=100", expect=200)
        assert popular["window"] == "1h"
        return next(
            (p for p in popular["popular"] if p["slug"] == slug and p["author"]["username"]),
            None,
        )

    entry = eventually(ranked, what=f"{slug} among the popular articles")
    assert entry == {
        "slug": slug,
        "title": draft["title"],
        "author": {"username": writer.username},
        "views": len(reads),
    }

    # and the writer cleans up: the article is gone for everyone
    client.call("DELETE", f"/api/articles/{slug}", expect=403, as_=reader)
    client.call("DELETE", f"/api/articles/{slug}", expect=204, as_=writer)
    client.call("GET", f"/api/articles/{slug}", expect=404)


def test_the_feed_reads_each_follow_and_unfollow_at_once(client: Client) -> None:
    """Read-your-writes both ways, several times in a row, with no pause or retry anywhere."""
    writer = client.register("followed")
    reader = client.register("follower")
    draft = {"title": f"Followed {writer.username}", "description": "d", "body": "b"}
    slug = client.call("POST", "/api/articles", expect=201, as_=writer, json={"article": draft})[
        "article"
    ]["slug"]
    path = f"/api/profiles/{writer.username}/follow"
    for _ in range(5):
        client.call("POST", path, expect=200, as_=reader)
        feed = client.call("GET", "/api/articles/feed", expect=200, as_=reader)
        assert [a["slug"] for a in feed["articles"]] == [slug]
        assert feed["articles"][0]["author"]["following"] is True
        client.call("DELETE", path, expect=200, as_=reader)
        feed = client.call("GET", "/api/articles/feed", expect=200, as_=reader)
        assert (feed["articles"], feed["articlesCount"]) == ([], 0)
