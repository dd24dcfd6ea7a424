"""Every route of an app made by create_base_app takes a trailing slash, without a redirect."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint, Flask, Response, request
from prometheus_client import REGISTRY

from newsroom_common.jsonio import json_response
from newsroom_common.web import create_base_app
from newsroom_devstack.testing import trailing_slash_mismatches

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def app() -> Flask:
    """Routes shaped like the services': a static segment beside a variable one, nesting."""
    app = create_base_app("newsroom_slashes", readiness={})
    bp = Blueprint("demo", __name__)

    def answer(route: str, **arguments: object) -> Response:
        return json_response(
            {"route": route, "method": request.method, "arguments": arguments}, status=201
        )

    @bp.route("/api/things", methods=list(METHODS))
    def things() -> Response:
        return answer("things")

    @bp.get("/api/things/feed")
    def feed() -> Response:
        return answer("feed")

    @bp.route("/api/things/<slug>", methods=list(METHODS))
    def thing(slug: str) -> Response:
        return answer("thing", slug=slug)

    @bp.route("/api/things/<slug>/notes/<int:note_id>", methods=["DELETE"])
    def note(slug: str, note_id: int) -> Response:
        return answer("note", slug=slug, note_id=note_id)

    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", ["/api/things", "/api/things/a-slug"])
def test_every_method_answers_the_same_with_a_trailing_slash(
    app: Flask, method: str, path: str
) -> None:
    client = app.test_client()
    plain = client.open(path, method=method, json={"x": 1})
    slashed = client.open(path + "/", method=method, json={"x": 1})
    assert plain.status_code == 201, plain.get_data(as_text=True)
    assert (slashed.status_code, slashed.get_json()) == (plain.status_code, plain.get_json())
    assert "Location" not in slashed.headers


def test_a_static_segment_still_wins_over_a_variable_one_with_a_slash(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/api/things/feed/").get_json()["route"] == "feed"
    assert client.get("/api/things/feeds/").get_json() == {
        "route": "thing",
        "method": "GET",
        "arguments": {"slug": "feeds"},
    }
    assert client.delete("/api/things/s/notes/3/").get_json()["arguments"] == {
        "slug": "s",
        "note_id": 3,
    }
    # A method the static route does not have goes to the variable one, slash or not.
    for path in ("/api/things/feed", "/api/things/feed/"):
        assert client.post(path).get_json()["arguments"] == {"slug": "feed"}
    # A method no route has is a 405, slash or not.
    for path in ("/api/things/s/notes/3", "/api/things/s/notes/3/"):
        response = client.get(path)
        assert response.status_code == 405
        assert response.get_json() == {"errors": {"body": ["method not allowed"]}}


def test_every_rule_of_the_map_takes_a_trailing_slash(app: Flask) -> None:
    assert trailing_slash_mismatches(app.url_map) == []


def test_a_strict_map_is_caught_by_the_check() -> None:
    strict = Flask("strict", static_folder=None)
    strict.add_url_rule("/api/things", "things", lambda: "", methods=["POST"])
    [problem] = trailing_slash_mismatches(strict.url_map)
    assert problem.startswith("POST /api/things matched (<Rule '/api/things'")
    assert problem.endswith("with a slash 'a 404'")


def test_logs_and_metrics_name_the_route_template_for_both_forms(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    def requests_counted() -> float:
        value = REGISTRY.get_sample_value(
            "newsroom_http_requests_total",
            {"service": "slashes", "method": "PUT", "route": "/api/things/<slug>", "status": "201"},
        )
        return value or 0.0

    before = requests_counted()
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="newsroom.access"):
        client.put("/api/things/a")
        client.put("/api/things/a/")
    routes = [record.__dict__["route"] for record in caplog.records]
    assert routes == ["/api/things/<slug>", "/api/things/<slug>"]
    assert requests_counted() == before + 2
