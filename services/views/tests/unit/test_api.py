"""The read API over fakes: shapes, 404 and 422 in the RealWorld error shape."""

from __future__ import annotations

import datetime as dt
import json
import types
from pathlib import Path

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from newsroom_common.config import DatabaseUrl
from newsroom_views.config import ViewsSettings
from newsroom_views.domain.model import HOUR, Article, Author, Retention, View
from newsroom_views.entrypoints.app import create_app
from newsroom_views.service_layer import replica, views

from .fakes import FakeUnitOfWork

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    replica.apply_author(repos=fake, change=Author("u1", "jake", NOW))
    for article_id, slug, reads in [("a", "alpha", 2), ("b", "bravo", 1)]:
        replica.apply_article(
            repos=fake,
            change=Article(
                id=article_id,
                slug=slug,
                title=slug.title(),
                author_id="u1",
                deleted=False,
                version=NOW,
            ),
        )
        views.record_views(
            repos=fake,
            views=[View(f"{article_id}{i}", article_id, NOW) for i in range(reads)],
            now=NOW,
            retention=Retention(minutes=26 * HOUR, hours=170 * HOUR),
        )
    return fake


@pytest.fixture
def app(uow: FakeUnitOfWork) -> Flask:
    # The engine is built but never connects: the fake unit of work replaces the services.
    app = create_app(
        ViewsSettings(database_url=DatabaseUrl("postgresql+psycopg2://x@127.0.0.1:1/x"))
    )
    app.extensions["views"] = types.SimpleNamespace(uow=uow)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_article_views(client: FlaskClient) -> None:
    response = client.get("/api/articles/alpha/views")
    assert response.status_code == 200
    assert response.json == {"views": {"slug": "alpha", "total": 2, "last24h": 2, "last7d": 2}}


def test_unknown_article_is_404_in_the_realworld_shape(client: FlaskClient) -> None:
    response = client.get("/api/articles/nope/views")
    assert response.status_code == 404
    assert response.json == {"errors": {"article": ["not found"]}}


def test_popular(client: FlaskClient) -> None:
    response = client.get("/api/views/popular?window=7d&limit=1")
    assert response.status_code == 200
    assert response.json == {
        "popular": [
            {"slug": "alpha", "title": "Alpha", "author": {"username": "jake"}, "views": 2}
        ],
        "window": "7d",
    }


def test_popular_defaults_to_the_last_day_and_caps_the_limit(client: FlaskClient) -> None:
    response = client.get("/api/views/popular?limit=1000")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["window"] == "24h"
    assert [p["slug"] for p in response.json["popular"]] == ["alpha", "bravo"]


@pytest.mark.parametrize(
    ("query", "field"), [("window=2d", "window"), ("limit=0", "limit"), ("limit=x", "limit")]
)
def test_bad_parameters_are_422(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/views/popular?{query}")
    assert response.status_code == 422
    assert response.json is not None
    assert list(response.json["errors"]) == [field]


# The project's one OpenAPI document, the one the gateway serves.
OPENAPI = Path(__file__).parents[4] / "gateway" / "openapi.json"


def _response_schema(path: str, status: str) -> dict[str, object]:
    """The JSON schema of a response in the OpenAPI document, its references resolvable."""
    document = json.loads(OPENAPI.read_text())
    response = document["paths"][path]["get"]["responses"][status]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    # Resolve "#/components/..." against the whole document.
    return {**schema, "components": document["components"]}


@pytest.mark.parametrize(
    ("request_path", "path", "status"),
    [
        ("/api/articles/alpha/views", "/articles/{slug}/views", "200"),
        ("/api/views/popular?window=all", "/views/popular", "200"),
        ("/api/views/popular?window=nope", "/views/popular", "422"),
        ("/api/articles/nope/views", "/articles/{slug}/views", "404"),
    ],
)
def test_responses_match_the_openapi_document(
    client: FlaskClient, request_path: str, path: str, status: str
) -> None:
    response = client.get(request_path)
    assert str(response.status_code) == status
    jsonschema.validate(response.json, _response_schema(path, status))
