"""Authors come from the replica of users' events, from users over HTTP, or from the token."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from newsroom_devstack.stack import Stack

from .conftest import Api

pytestmark = pytest.mark.integration


@pytest.fixture
def users_down(stack: Stack) -> Iterator[None]:
    """The users API stopped for the test, started again after it."""
    users = stack.process("users-api")
    users.stop()
    try:
        yield
    finally:
        users.start()
        stack.wait_ready("users-api")


@pytest.fixture
def replica_paused(stack: Stack) -> Iterator[None]:
    """The consumer of users' events stopped: new profiles are unknown to the replica."""
    consumer = stack.process("articles-consume")
    consumer.stop()
    try:
        yield
    finally:
        consumer.start()


def test_profile_changes_made_in_users_reach_article_responses(api: Api, poll: Any) -> None:
    writer, reader = api.register("erin"), api.register("reader")
    slug = api.publish(writer)["slug"]
    renamed = f"erin{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    changed = api.put("/api/user", user=writer, json={"user": {"username": renamed, "bio": "new"}})
    assert changed.status_code == 200

    def author() -> Any:
        # Signed in, so no shared cache stands between us and the service.
        found = api.get(f"/api/articles/{slug}", user=reader).json()["article"]["author"]
        return found if found["username"] == renamed else None

    assert poll(author, interval=0.02) == {
        "username": renamed,
        "bio": "new",
        "image": None,
        "following": False,
    }
    print(f"profile change visible in articles after {time.monotonic() - started:.3f}s")
    listed = api.get(f"/api/articles?author={renamed}", user=reader).json()
    assert [a["slug"] for a in listed["articles"]] == [slug]


@pytest.fixture
def writer(api: Api) -> Any:
    """A user with two articles, made while users is up."""
    user = api.register("w")
    for _ in range(2):
        api.publish(user)
    return user


def test_reads_answer_while_users_is_down(api: Api, writer: Any, users_down: None) -> None:
    # A query no one asked before: the gateway's cache cannot answer it for the service.
    listed = api.get(f"/api/articles?author={writer.username}")
    assert listed.status_code == 200
    assert listed.json()["articlesCount"] == 2
    for article in listed.json()["articles"]:
        for user in (None, writer):
            read = api.get(f"/api/articles/{article['slug']}", user=user)
            assert read.status_code == 200
            assert read.json()["article"]["author"]["username"] == writer.username
    assert api.get("/api/tags", user=writer).status_code == 200


def test_an_author_the_replica_has_not_seen_is_asked_from_users(
    api: Api, replica_paused: None
) -> None:
    newcomer = api.register("new")
    api.put("/api/user", user=newcomer, json={"user": {"bio": "fresh from users"}})
    article = api.publish(newcomer)
    assert article["author"]["username"] == newcomer.username
    assert article["author"]["bio"] == "fresh from users"


def test_with_users_down_too_the_author_comes_from_the_token(
    api: Api, stack: Stack, replica_paused: None
) -> None:
    newcomer = api.register("tok")
    users = stack.process("users-api")
    users.stop()
    try:
        article = api.publish(newcomer)
        assert article["author"]["username"] == newcomer.username
        read = api.get(f"/api/articles/{article['slug']}", user=newcomer)
        assert read.status_code == 200
        assert read.json()["article"]["author"]["username"] == newcomer.username
    finally:
        users.start()
        stack.wait_ready("users-api")
