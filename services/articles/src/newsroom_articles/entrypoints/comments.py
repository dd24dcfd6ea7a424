"""`/api/articles/{slug}/comments` and `/api/articles/{slug}/comments/{id}`."""

from __future__ import annotations

from flask import Blueprint, Response

from newsroom_articles.entrypoints.blueprint_helpers import caller, services, signed_in
from newsroom_articles.entrypoints.representations import comment_json
from newsroom_articles.service_layer import comments as use_cases
from newsroom_common.errors import NotFound
from newsroom_common.jsonio import json_response
from newsroom_common.web import json_body

bp = Blueprint("comments", __name__)
# Comment ids are PostgreSQL bigints; anything larger cannot name a comment.
_MAX_ID = 2**63 - 1


@bp.get("/api/articles/<slug>/comments")
def list_comments(slug: str) -> Response:
    s = services()
    comments = use_cases.list_comments(
        uow=s.uow, directory=s.directory, slug=slug, caller=caller(required=False)
    )
    return json_response({"comments": [comment_json(c) for c in comments]})


@bp.post("/api/articles/<slug>/comments")
def create(slug: str) -> Response:
    s = services()
    author = signed_in()
    fields = json_body(root="comment")
    view = use_cases.create(
        uow=s.uow, directory=s.directory, caller=author, slug=slug, body=fields.get("body")
    )
    return json_response({"comment": comment_json(view)})


@bp.delete("/api/articles/<slug>/comments/<comment_id>")
def delete(slug: str, comment_id: str) -> Response:
    author = signed_in()
    if not (comment_id.isascii() and comment_id.isdigit()) or int(comment_id) > _MAX_ID:
        raise NotFound("comment not found")
    use_cases.delete(uow=services().uow, caller=author, slug=slug, comment_id=int(comment_id))
    return Response(status=204)
