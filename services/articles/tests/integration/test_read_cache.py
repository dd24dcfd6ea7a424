"""The list read cache on the real database: a page unchanged since it was read is one
statement and carries each reader's own flags; any write, by this process or another
(the stack's own articles API behind the gateway, the replica's consumer), is seen by
the very next read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from newsroom_devstack.stack import Stack

from .conftest import Api, StatementCounter, User, in_process_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(stack: Stack) -> Iterator[Flask]:
    yield from in_process_app(stack)


@pytest.fixture(scope="module")
def counter(app: Flask) -> StatementCounter:
    return StatementCounter.of(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _page(
    client: FlaskClient, counter: StatementCounter, path: str, user: User | None
) -> tuple[dict[str, Any], int]:
    before = len(counter.statements)
    response = client.get(path, headers=user.headers if user else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), len(counter.statements) - before


def _cached(
    client: FlaskClient, counter: StatementCounter, path: str, user: User | None, poll: Any
) -> dict[str, Any]:
    """The answer of a read served from the cache: one statement, the check.

    Writes still settling in the background (the relay marks its outbox rows sent, the
    replica applies users' events) change the snapshot too; a quiet database comes soon.
    """
    answers: list[dict[str, Any]] = []

    def hit() -> bool:
        page, statements = _page(client, counter, path, user)
        answers.append(page)
        return statements == 1

    poll(hit)
    return answers[-1]


def _flags(page: dict[str, Any]) -> dict[str, tuple[bool, bool, int]]:
    return {
        a["slug"]: (a["favorited"], a["author"]["following"], a["favoritesCount"])
        for a in page["articles"]
    }


def test_an_unchanged_page_is_one_statement_with_each_readers_own_flags(
    api: Api, client: FlaskClient, counter: StatementCounter, poll: Any
) -> None:
    author, alice, bob = api.register("cached"), api.register("alice"), api.register("bob")
    tag = f"rc{uuid.uuid4().hex[:10]}"
    slugs = [api.publish(author, tagList=[tag])["slug"] for _ in range(3)]
    assert api.post(f"/api/articles/{slugs[0]}/favorite", user=alice).status_code == 200
    assert api.post(f"/api/profiles/{author.username}/follow", user=alice).status_code == 200
    path = f"/api/articles?tag={tag}&limit=2"
    # The follow reaches the replica through users' events.
    poll(lambda: _page(client, counter, path, alice)[0]["articles"][0]["author"]["following"])

    first, _ = _page(client, counter, path, alice)
    assert _cached(client, counter, path, alice, poll) == first
    assert first["articlesCount"] == 3

    as_bob = _cached(client, counter, path, bob, poll)
    assert as_bob["articlesCount"] == 3
    assert [a["slug"] for a in as_bob["articles"]] == [a["slug"] for a in first["articles"]]
    assert set(_flags(as_bob).values()) == {(False, False, 0)}
    assert _cached(client, counter, path, None, poll) == as_bob
    # Alice's own flags, from the same cached page: she favorited the oldest (not on this
    # page of two) and follows the author of all three.
    assert set(_flags(first).values()) == {(False, True, 0)}
    oldest, _ = _page(client, counter, f"/api/articles?tag={tag}&limit=2&offset=2", alice)
    assert _flags(oldest) == {slugs[0]: (True, True, 1)}


def test_a_write_by_another_process_is_seen_by_the_next_read(
    api: Api, client: FlaskClient, counter: StatementCounter, poll: Any
) -> None:
    author, reader = api.register("writer"), api.register("reader")
    tag = f"rc{uuid.uuid4().hex[:10]}"
    slugs = [api.publish(author, tagList=[tag])["slug"] for _ in range(2)]
    path = f"/api/articles?tag={tag}"
    _cached(client, counter, path, reader, poll)

    # A favorite, through the gateway: the stack's articles API writes it.
    assert api.post(f"/api/articles/{slugs[1]}/favorite", user=reader).status_code == 200
    page, statements = _page(client, counter, path, reader)
    assert statements > 1
    assert _flags(page)[slugs[1]] == (True, False, 1)
    assert _flags(api.get(path, user=reader).json()) == _flags(page)

    # A new article: first on the page and counted, at once.
    newest = api.publish(author, tagList=[tag])["slug"]
    page, _ = _page(client, counter, path, reader)
    assert (page["articles"][0]["slug"], page["articlesCount"]) == (newest, 3)

    # An edit and a deletion.
    assert api.put(f"/api/articles/{newest}", user=author, json={"article": {"body": "edited"}}).ok
    assert api.delete(f"/api/articles/{slugs[0]}", user=author).status_code in {200, 204}
    page, _ = _page(client, counter, path, reader)
    assert [a["slug"] for a in page["articles"]] == [newest, slugs[1]]
    assert page["articlesCount"] == 2

    # A profile change travels users -> Kafka -> the articles consumer's replica.
    assert api.put("/api/user", user=author, json={"user": {"bio": "a new bio"}}).ok
    poll(
        lambda: (
            {a["author"]["bio"] for a in _page(client, counter, path, None)[0]["articles"]}
            == {"a new bio"}
        )
    )


def test_a_feed_is_cached_until_a_follow_lands_and_the_next_feed_shows_it(
    api: Api, client: FlaskClient, counter: StatementCounter, poll: Any
) -> None:
    first, second, reader = api.register("fa"), api.register("fb"), api.register("freader")
    mine = api.publish(first)["slug"]
    theirs = api.publish(second)["slug"]
    # Through the gateway: users answers once articles' replica holds the follow.
    assert api.post(f"/api/profiles/{first.username}/follow", user=reader).status_code == 200
    path = "/api/articles/feed"
    page = _cached(client, counter, path, reader, poll)
    assert [a["slug"] for a in page["articles"]] == [mine]
    assert page["articles"][0]["author"]["following"]

    # Read-your-writes through the cache: the replica's commit changed the snapshot.
    assert api.post(f"/api/profiles/{second.username}/follow", user=reader).status_code == 200
    page, statements = _page(client, counter, path, reader)
    assert statements > 1
    assert [a["slug"] for a in page["articles"]] == [theirs, mine]
    assert api.delete(f"/api/profiles/{first.username}/follow", user=reader).status_code == 200
    page, _ = _page(client, counter, path, reader)
    assert [a["slug"] for a in page["articles"]] == [theirs]
