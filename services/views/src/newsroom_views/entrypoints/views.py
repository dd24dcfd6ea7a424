"""`/api/articles/{slug}/views` and `/api/views/popular`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, request

from newsroom_common.jsonio import json_response
from newsroom_views.bootstrap import Services
from newsroom_views.domain.model import ArticleViews, Popular, Window, parse_limit
from newsroom_views.service_layer import views as use_cases

bp = Blueprint("views", __name__)


def _services() -> Services:
    return current_app.extensions["views"]  # type: ignore[no-any-return]


def views_json(views: ArticleViews) -> dict[str, Any]:
    """The `views` object of one article."""
    return {
        "views": {
            "slug": views.slug,
            "total": views.total,
            "last24h": views.last24h,
            "last7d": views.last7d,
        }
    }


def popular_json(entries: list[Popular], window: Window) -> dict[str, Any]:
    """The `popular` list with the window it covers."""
    return {
        "popular": [
            {
                "slug": p.slug,
                "title": p.title,
                "author": {"username": p.author_username},
                "views": p.views,
            }
            for p in entries
        ],
        "window": window.value,
    }


@bp.get("/api/articles/<slug>/views")
def get(slug: str) -> Response:
    views = use_cases.article_views(uow=_services().uow, slug=slug, now=dt.datetime.now(dt.UTC))
    return json_response(views_json(views))


@bp.get("/api/views/popular")
def list_popular() -> Response:
    window = Window.parse(request.args.get("window"))
    limit = parse_limit(request.args.get("limit"))
    entries = use_cases.popular(
        uow=_services().uow, window=window, limit=limit, now=dt.datetime.now(dt.UTC)
    )
    return json_response(popular_json(entries, window))
