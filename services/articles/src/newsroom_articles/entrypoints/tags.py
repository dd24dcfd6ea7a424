"""`/api/tags`."""

from __future__ import annotations

from flask import Blueprint, Response

from newsroom_articles.entrypoints.blueprint_helpers import services
from newsroom_articles.service_layer import tags as use_cases
from newsroom_common.jsonio import json_response

bp = Blueprint("tags", __name__)


@bp.get("/api/tags")
def list_tags() -> Response:
    s = services()
    response = json_response(
        {"tags": use_cases.list_tags(uow=s.read_uow, limit=s.settings.tags_limit)}
    )
    # The same for every caller, signed in or not: shared caches (the gateway's) keep one copy
    # for all of them for a few seconds, and a token does not make it private.
    response.headers["Cache-Control"] = f"public, max-age={s.settings.public_max_age}"
    return response
