"""The articles API's routes: each one takes a trailing slash, without a redirect."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from newsroom_devstack.testing import trailing_slash_mismatches

from .fakes import Fakes


def test_every_route_takes_a_trailing_slash(app: Flask) -> None:
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/api/articles", "/api/articles/feed", "/api/articles/<article_slug:slug>"} <= rules
    assert trailing_slash_mismatches(app.url_map) == []


def test_a_front_end_publishes_with_a_trailing_slash(client: FlaskClient, fakes: Fakes) -> None:
    """Issue 22: a RealWorld front end sends POST /api/articles/."""
    alice = fakes.user("alice")
    headers = {"Authorization": f"Token {alice.token}"}
    article = {"title": "Slashed", "description": "d", "body": "b", "tagList": []}
    response = client.post("/api/articles/", json={"article": article}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "Location" not in response.headers
    slug = response.get_json()["article"]["slug"]
    # Reads of a slug named "feed"-like paths still go to the right route with a slash.
    read = client.get(f"/api/articles/{slug}/")
    assert read.status_code == 200, read.get_data(as_text=True)
    assert read.get_json()["article"]["title"] == "Slashed"
    assert client.get("/api/articles/feed/", headers=headers).get_json()["articlesCount"] == 0
