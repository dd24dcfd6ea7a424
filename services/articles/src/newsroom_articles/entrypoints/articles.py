"""`/api/articles`, `/api/articles/feed` and `/api/articles/{slug}`."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request

from newsroom_articles.domain.model import NUL_MESSAGE, ArticleFilter, Page, parse_page
from newsroom_articles.entrypoints.blueprint_helpers import caller, services, signed_in
from newsroom_articles.entrypoints.representations import ListItems, article_json
from newsroom_articles.service_layer import articles as use_cases
from newsroom_common.errors import ValidationFailed
from newsroom_common.jsonio import dumps, json_response
from newsroom_common.web import json_body

bp = Blueprint("articles", __name__)


_LIST_ITEMS = ListItems()


def _page_json(page: Page) -> Response:
    return json_response(
        {"articles": _LIST_ITEMS.render(page.articles), "articlesCount": page.count}
    )


def _query(name: str) -> str | None:
    value = request.args.get(name) or None
    if value is not None and "\x00" in value:
        raise ValidationFailed(fields={name: [NUL_MESSAGE]})
    return value


@bp.get("/api/articles")
def list_articles() -> Response:
    page = parse_page(request.args.get("limit"), request.args.get("offset"))
    s = services()
    where = ArticleFilter(tag=_query("tag"), author=_query("author"), favorited=_query("favorited"))
    result = use_cases.list_articles(
        uow=s.read_uow, directory=s.directory, where=where, page=page, caller=caller(required=False)
    )
    return _page_json(result)


@bp.get("/api/articles/feed")
def feed() -> Response:
    page = parse_page(request.args.get("limit"), request.args.get("offset"))
    s = services()
    # The read path, cache included: the replica a follow waits for commits, and any commit
    # changes the snapshot a cached page is checked against (adapters/read_cache).
    result = use_cases.feed(uow=s.read_uow, directory=s.directory, page=page, caller=signed_in())
    return _page_json(result)


@bp.get("/api/articles/<article_slug:slug>")
def get(slug: str) -> Response:
    s = services()
    view = use_cases.get(
        uow=s.read_uow,
        directory=s.directory,
        views=s.views,
        slug=slug,
        caller=caller(required=False),
        # Flask answers HEAD through this handler: a HEAD reads no article, so it is no view.
        count_view=request.method == "GET",
    )
    body = dumps({"article": article_json(view)})
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.make_conditional(request)
    return response


@bp.post("/api/articles")
def create() -> Response:
    s = services()
    author = signed_in()
    fields = json_body(root="article")
    view = use_cases.create(uow=s.uow, directory=s.directory, caller=author, fields=fields)
    return json_response({"article": article_json(view)}, status=201)


@bp.put("/api/articles/<article_slug:slug>")
def update(slug: str) -> Response:
    s = services()
    author = signed_in()
    fields = json_body(root="article")
    view = use_cases.update(
        uow=s.uow, directory=s.directory, caller=author, slug=slug, fields=fields
    )
    return json_response({"article": article_json(view)})


@bp.delete("/api/articles/<article_slug:slug>")
def delete(slug: str) -> Response:
    use_cases.delete(uow=services().uow, caller=signed_in(), slug=slug)
    return Response(status=204)
