"""Every articles route and error through the gateway, against the real stack."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from .conftest import Api, User

pytestmark = pytest.mark.integration
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _tag() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _slugs(body: dict[str, Any]) -> list[str]:
    return [a["slug"] for a in body["articles"]]


@pytest.fixture(scope="module")
def alice(api: Api) -> User:
    return api.register("alice")


@pytest.fixture(scope="module")
def bob(api: Api) -> User:
    return api.register("bob")


def test_create_and_read_an_article(api: Api, alice: User) -> None:
    tag = _tag()
    created = api.publish(
        alice, title="How to Train Your Dragon", body="Very carefully.", tagList=[tag, "dragons"]
    )
    assert created["slug"].startswith("how-to-train-your-dragon")
    assert created["tagList"] == sorted([tag, "dragons"])
    assert TIMESTAMP.match(created["createdAt"])
    assert created["createdAt"] == created["updatedAt"]
    assert (created["favorited"], created["favoritesCount"]) == (False, 0)
    assert created["author"] == {
        "username": alice.username,
        "bio": None,
        "image": None,
        "following": False,
    }
    read = api.get(f"/api/articles/{created['slug']}")
    assert read.status_code == 200
    assert read.json()["article"] == created
    assert read.headers["Cache-Control"] == "public, max-age=5"
    assert "ETag" in read.headers
    mine = api.get(f"/api/articles/{created['slug']}", user=alice)
    assert mine.headers["Cache-Control"].startswith("private")


def test_the_same_title_gets_a_unique_slug_that_survives_other_edits(api: Api, alice: User) -> None:
    title = f"Same title {uuid.uuid4().hex[:6]}"
    first, second = api.publish(alice, title=title), api.publish(alice, title=title)
    assert first["slug"] != second["slug"]
    edited = api.put(
        f"/api/articles/{second['slug']}", user=alice, json={"article": {"body": "new body"}}
    )
    assert edited.status_code == 200
    assert edited.json()["article"]["slug"] == second["slug"]
    assert edited.json()["article"]["body"] == "new body"
    assert edited.json()["article"]["updatedAt"] >= second["updatedAt"]
    retitled = api.put(
        f"/api/articles/{second['slug']}", user=alice, json={"article": {"title": "Brand New"}}
    )
    new_slug = retitled.json()["article"]["slug"]
    assert new_slug.startswith("brand-new")
    assert api.get(f"/api/articles/{second['slug']}").status_code == 404
    assert api.get(f"/api/articles/{new_slug}").status_code == 200


def test_an_unchanged_article_answers_304(api: Api, alice: User) -> None:
    slug = api.publish(alice)["slug"]
    first = api.get(f"/api/articles/{slug}", user=alice)
    again = api.get(
        f"/api/articles/{slug}", user=alice, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


def test_lists_are_newest_first_counted_and_paginated_at_the_edges(api: Api, alice: User) -> None:
    tag = _tag()
    slugs = [api.publish(alice, tagList=[tag])["slug"] for _ in range(5)]
    newest_first = list(reversed(slugs))
    every = api.get(f"/api/articles?tag={tag}").json()
    assert (_slugs(every), every["articlesCount"]) == (newest_first, 5)
    assert "body" not in every["articles"][0]
    page = api.get(f"/api/articles?tag={tag}&limit=2&offset=2").json()
    assert (_slugs(page), page["articlesCount"]) == (newest_first[2:4], 5)
    last = api.get(f"/api/articles?tag={tag}&limit=2&offset=4").json()
    assert (_slugs(last), last["articlesCount"]) == (newest_first[4:], 5)
    beyond = api.get(f"/api/articles?tag={tag}&limit=2&offset=5").json()
    assert (beyond["articles"], beyond["articlesCount"]) == ([], 5)
    capped = api.get(f"/api/articles?tag={tag}&limit=100000").json()
    assert capped["articlesCount"] == 5
    unknown = api.get(f"/api/articles?tag={_tag()}").json()
    assert unknown == {"articles": [], "articlesCount": 0}


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("limit=0", {"limit"}),
        ("limit=-5", {"limit"}),
        ("limit=abc", {"limit"}),
        ("offset=-1", {"offset"}),
        ("offset=1e9", {"offset"}),
        ("limit=1.5&offset=x", {"limit", "offset"}),
    ],
)
def test_invalid_paging_is_422_not_500(api: Api, query: str, fields: set[str]) -> None:
    response = api.get(f"/api/articles?{query}")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == fields


def test_filters_combine(api: Api, alice: User, bob: User) -> None:
    tag = _tag()
    a1 = api.publish(alice, tagList=[tag])["slug"]
    api.publish(alice, tagList=[_tag()])
    b1 = api.publish(bob, tagList=[tag])["slug"]
    api.post(f"/api/articles/{a1}/favorite", user=bob)
    api.post(f"/api/articles/{b1}/favorite", user=bob)

    def listed(query: str) -> tuple[list[str], int]:
        body = api.get(f"/api/articles?{query}").json()
        return _slugs(body), body["articlesCount"]

    assert listed(f"tag={tag}") == ([b1, a1], 2)
    assert listed(f"tag={tag}&author={alice.username}") == ([a1], 1)
    assert listed(f"tag={tag}&favorited={bob.username}") == ([b1, a1], 2)
    assert listed(f"tag={tag}&author={bob.username}&favorited={bob.username}") == ([b1], 1)
    assert listed(f"tag={tag}&favorited={alice.username}") == ([], 0)
    assert listed(f"author={alice.username.upper()}&tag={tag}") == ([a1], 1)
    assert listed("author=nobody-by-that-name") == ([], 0)


def test_favorites(api: Api, alice: User, bob: User) -> None:
    slug = api.publish(alice)["slug"]
    for _ in range(2):
        favorited = api.post(f"/api/articles/{slug}/favorite", user=bob)
        assert favorited.status_code == 200
        article = favorited.json()["article"]
        assert (article["favorited"], article["favoritesCount"]) == (True, 1)
    assert api.get(f"/api/articles/{slug}", user=bob).json()["article"]["favorited"] is True
    assert api.get(f"/api/articles/{slug}", user=alice).json()["article"]["favorited"] is False
    undone = api.delete(f"/api/articles/{slug}/favorite", user=bob).json()["article"]
    assert (undone["favorited"], undone["favoritesCount"]) == (False, 0)
    assert api.post(f"/api/articles/{slug}/favorite").status_code == 401
    assert api.post("/api/articles/no-such-article/favorite", user=bob).status_code == 404


def test_comments(api: Api, alice: User, bob: User) -> None:
    slug = api.publish(alice)["slug"]
    assert api.get(f"/api/articles/{slug}/comments").json() == {"comments": []}
    first = api.post(f"/api/articles/{slug}/comments", user=bob, json={"comment": {"body": "1"}})
    assert first.status_code == 200
    comment = first.json()["comment"]
    assert comment["body"] == "1"
    assert TIMESTAMP.match(comment["createdAt"])
    assert comment["author"]["username"] == bob.username
    second = api.post(
        f"/api/articles/{slug}/comments", user=alice, json={"comment": {"body": "2"}}
    ).json()["comment"]
    listed = api.get(f"/api/articles/{slug}/comments").json()["comments"]
    assert [c["id"] for c in listed] == [comment["id"], second["id"]]

    blank = api.post(f"/api/articles/{slug}/comments", user=bob, json={"comment": {"body": ""}})
    assert blank.status_code == 422
    assert blank.json() == {"errors": {"body": ["can't be blank"]}}
    anonymous = api.post(f"/api/articles/{slug}/comments", json={"comment": {"body": "x"}})
    assert anonymous.status_code == 401
    assert api.get("/api/articles/no-such-article/comments").status_code == 404

    path = f"/api/articles/{slug}/comments/{comment['id']}"
    assert api.delete(path, user=alice).status_code == 403
    assert api.delete(path, user=bob).status_code in {200, 204}
    assert api.delete(path, user=bob).status_code == 404
    assert api.delete(f"/api/articles/{slug}/comments/abc", user=bob).status_code == 404
    assert api.delete(f"/api/articles/{slug}/comments/999999999", user=bob).status_code == 404


def test_only_the_author_updates_or_deletes_and_delete_cascades(
    api: Api, alice: User, bob: User
) -> None:
    tag = _tag()
    slug = api.publish(alice, tagList=[tag])["slug"]
    api.post(f"/api/articles/{slug}/comments", user=bob, json={"comment": {"body": "hi"}})
    api.post(f"/api/articles/{slug}/favorite", user=bob)
    change = {"article": {"title": "Hijacked"}}
    assert api.put(f"/api/articles/{slug}", user=bob, json=change).status_code == 403
    assert api.delete(f"/api/articles/{slug}", user=bob).status_code == 403
    assert api.put(f"/api/articles/{slug}", json=change).status_code == 401
    assert api.delete(f"/api/articles/{slug}", user=alice).status_code in {200, 204}
    assert api.get(f"/api/articles/{slug}").status_code == 404
    assert api.get(f"/api/articles/{slug}/comments").status_code == 404
    assert api.get(f"/api/articles?favorited={bob.username}&tag={tag}").json() == {
        "articles": [],
        "articlesCount": 0,
    }
    # Signed in: the gateway caches anonymous tag lists for a few seconds.
    assert tag not in api.get("/api/tags", user=alice).json()["tags"]
    assert api.delete(f"/api/articles/{slug}", user=alice).status_code == 404
    assert api.put(f"/api/articles/{slug}", user=alice, json=change).status_code == 404


def test_bad_articles_are_422_per_field(api: Api, alice: User) -> None:
    missing = api.post("/api/articles", user=alice, json={"article": {"title": "only a title"}})
    assert missing.status_code == 422
    assert missing.json() == {
        "errors": {"description": ["can't be blank"], "body": ["can't be blank"]}
    }
    wrong = api.post(
        "/api/articles",
        user=alice,
        json={"article": {"title": 1, "description": "d", "body": "b", "tagList": "x"}},
    )
    assert wrong.status_code == 422
    assert set(wrong.json()["errors"]) == {"title", "tagList"}
    no_root = api.post("/api/articles", user=alice, json={"title": "t"})
    assert no_root.status_code == 422
    slug = api.publish(alice)["slug"]
    blank = api.put(f"/api/articles/{slug}", user=alice, json={"article": {"title": " "}})
    assert blank.status_code == 422
    assert blank.json() == {"errors": {"title": ["can't be blank"]}}


def test_tags_list_what_is_in_use(api: Api, alice: User) -> None:
    tag = _tag()
    api.publish(alice, tagList=[tag])
    response = api.get("/api/tags", user=alice)
    assert response.status_code == 200
    assert tag in response.json()["tags"]
    assert api.get("/api/tags").headers["Cache-Control"] == "public, max-age=5"


def test_the_feed_shows_followed_authors_newest_first(api: Api, poll: Any) -> None:
    reader, followed, other = api.register("reader"), api.register("writer"), api.register("x")
    first = api.publish(followed)["slug"]
    api.publish(other)
    second = api.publish(followed)["slug"]
    assert api.post(f"/api/profiles/{followed.username}/follow", user=reader).status_code == 200

    def feed() -> Any:
        body = api.get("/api/articles/feed", user=reader).json()
        return body if body["articlesCount"] == 2 else None

    body = poll(feed)
    assert _slugs(body) == [second, first]
    assert all(a["author"]["following"] for a in body["articles"])
    page = api.get("/api/articles/feed?limit=1&offset=1", user=reader).json()
    assert (_slugs(page), page["articlesCount"]) == ([first], 2)
    assert api.get("/api/articles/feed?limit=0", user=reader).status_code == 422
    assert api.get("/api/articles/feed").status_code == 401
    following = api.get(f"/api/articles/{first}", user=reader).json()["article"]["author"]
    assert following["following"] is True

    api.delete(f"/api/profiles/{followed.username}/follow", user=reader)
    poll(lambda: api.get("/api/articles/feed", user=reader).json()["articlesCount"] == 0)
