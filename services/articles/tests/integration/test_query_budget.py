"""SQL statements per request, counted on the engine: a page costs the same at any size."""

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
LIST_BUDGET = 4
ARTICLE_BUDGET = 3
# Issue 20: a create is at most four statements (BEGIN and COMMIT aside).
CREATE_BUDGET = 4


@pytest.fixture(scope="module")
def app(stack: Stack) -> Iterator[Flask]:
    """The articles API in this process, on the stack's database, Kafka and users."""
    yield from in_process_app(stack)


@pytest.fixture(scope="module")
def counter(app: Flask) -> StatementCounter:
    return StatementCounter.of(app)


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def world(api: Api, client: FlaskClient) -> dict[str, Any]:
    """Three authors, 30 articles sharing a tag, favorites and follows."""
    authors = [api.register("budget") for _ in range(3)]
    reader = api.register("reader")
    tag = f"budget{uuid.uuid4().hex[:8]}"
    slugs = []
    for i in range(30):
        author = authors[i % 3]
        response = client.post(
            "/api/articles",
            headers=author.headers,
            json={
                "article": {
                    "title": f"Budget {i}",
                    "description": "d",
                    "body": "b",
                    "tagList": [tag, f"extra{i % 4}"],
                }
            },
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        slugs.append(response.get_json()["article"]["slug"])
    for slug in slugs[::2]:
        favorited = client.post(f"/api/articles/{slug}/favorite", headers=reader.headers)
        assert favorited.status_code == 200
    for author in authors:
        api.post(f"/api/profiles/{author.username}/follow", user=reader)
    return {"authors": authors, "reader": reader, "tag": tag, "slugs": slugs}


def _count(client: FlaskClient, counter: StatementCounter, path: str, user: User | None) -> int:
    headers = user.headers if user else {}
    before = len(counter.statements)
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(counter.statements) - before


@pytest.mark.parametrize("limit", [1, 10, 30])
@pytest.mark.parametrize("signed_in", [False, True])
def test_a_page_of_articles_costs_at_most_four_statements(
    client: FlaskClient,
    counter: StatementCounter,
    world: dict[str, Any],
    poll: Any,
    limit: int,
    signed_in: bool,
) -> None:
    reader: User = world["reader"]
    viewer = reader if signed_in else None
    tag, author = world["tag"], world["authors"][0].username
    # The feed needs the follows, which arrive through users' events.
    poll(
        lambda: (
            client.get("/api/articles/feed", headers=reader.headers).get_json()["articlesCount"]
            == 30
        )
    )
    paths = [
        f"/api/articles?limit={limit}",
        f"/api/articles?tag={tag}&limit={limit}",
        f"/api/articles?author={author}&limit={limit}",
        f"/api/articles?favorited={reader.username}&limit={limit}",
        f"/api/articles?tag={tag}&author={author}&favorited={reader.username}&limit={limit}",
        f"/api/articles?tag={tag}&limit={limit}&offset=5",
    ]
    if signed_in:
        paths.append(f"/api/articles/feed?limit={limit}")
    for path in paths:
        statements = _count(client, counter, path, viewer)
        print(f"{statements} statements: GET {path} signed_in={signed_in}")
        assert statements <= LIST_BUDGET, (path, counter.statements[-statements:])


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_single_article_costs_at_most_three_statements(
    client: FlaskClient, counter: StatementCounter, world: dict[str, Any], signed_in: bool
) -> None:
    viewer = world["reader"] if signed_in else None
    for slug in world["slugs"][:3]:
        statements = _count(client, counter, f"/api/articles/{slug}", viewer)
        print(f"{statements} statements: GET /api/articles/{slug} signed_in={signed_in}")
        assert statements <= ARTICLE_BUDGET, counter.statements[-statements:]
    comments = _count(client, counter, f"/api/articles/{world['slugs'][0]}/comments", viewer)
    assert comments <= ARTICLE_BUDGET
    assert _count(client, counter, "/api/tags", viewer) == 1


def test_a_create_costs_at_most_four_statements(
    client: FlaskClient, counter: StatementCounter, world: dict[str, Any]
) -> None:
    author: User = world["authors"][1]
    tag = f"budget{uuid.uuid4().hex[:8]}"
    for i in range(3):
        before = len(counter.statements)
        response = client.post(
            "/api/articles",
            headers=author.headers,
            json={
                "article": {
                    "title": f"Budget create {i}",
                    "description": "d",
                    "body": "b",
                    "tagList": [tag, "Zeta", "alpha"],
                }
            },
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        statements = len(counter.statements) - before
        print(f"{statements} statements: POST /api/articles")
        assert statements <= CREATE_BUDGET, counter.statements[-statements:]
        created = response.get_json()["article"]
        # The answer is what a read of it gives (tags in the database's order, the author).
        read = client.get(f"/api/articles/{created['slug']}", headers=author.headers)
        assert read.get_json()["article"] == created
        assert created["author"]["username"] == author.username
