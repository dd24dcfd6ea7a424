"""`/api/articles/{slug}/favorite`."""

from __future__ import annotations

from flask import Blueprint, Response

from newsroom_articles.entrypoints.blueprint_helpers import services, signed_in
from newsroom_articles.entrypoints.representations import article_json
from newsroom_articles.service_layer import articles as use_cases
from newsroom_common.jsonio import json_response

bp = Blueprint("favorites", __name__)


@bp.post("/api/articles/<slug>/favorite")
def create(slug: str) -> Response:
    s = services()
    view = use_cases.favorite(uow=s.uow, directory=s.directory, caller=signed_in(), slug=slug)
    return json_response({"article": article_json(view)})


@bp.delete("/api/articles/<slug>/favorite")
def delete(slug: str) -> Response:
    s = services()
    view = use_cases.unfavorite(uow=s.uow, directory=s.directory, caller=signed_in(), slug=slug)
    return json_response({"article": article_json(view)})
