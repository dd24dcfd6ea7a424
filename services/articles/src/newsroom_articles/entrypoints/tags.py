"""`/api/tags`."""

from __future__ import annotations

from flask import Blueprint, Response

from newsroom_articles.entrypoints.http import services
from newsroom_articles.service_layer import tags as use_cases
from newsroom_common.jsonio import json_response

bp = Blueprint("tags", __name__)


@bp.get("/api/tags")
def list_tags() -> Response:
    s = services()
    return json_response({"tags": use_cases.list_tags(uow=s.read_uow, limit=s.settings.tags_limit)})
