"""What every articles blueprint shares: the wired services, the caller, cache headers."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, request
from werkzeug.routing import BaseConverter

from newsroom_articles.bootstrap import Services
from newsroom_articles.domain.model import RESERVED_SLUGS
from newsroom_common.auth import Principal
from newsroom_common.errors import NotFound
from newsroom_common.web import principal


class ArticleSlugConverter(BaseConverter):
    """`<article_slug:slug>`: any path segment but a reserved word, which is a route of its own.

    Without it /api/articles/feed also matches /api/articles/<slug>, and OPTIONS there would
    advertise PUT and DELETE on the feed.
    """

    regex = "(?!(?:" + "|".join(map(re.escape, sorted(RESERVED_SLUGS))) + ")$)[^/]+"
    # One path segment, as the regex says. Werkzeug cannot tell (a "/" in a regex makes it
    # match across segments by default), and such a converter refuses the trailing slash
    # that the app's non-strict routes otherwise accept: GET /api/articles/<slug>/ was a 404.
    part_isolating = True


def services() -> Services:
    """The services wired for this app."""
    return current_app.extensions["articles"]  # type: ignore[no-any-return]


def caller(*, required: bool) -> Principal | None:
    """The caller from the token; 401 when required and absent or invalid."""
    return principal(services().verifier, required=required)


def signed_in() -> Principal:
    """The caller, who must be signed in."""
    found = caller(required=True)
    assert found is not None
    return found


def add_cache_headers(response: Response) -> Response:
    """Anonymous reads may sit briefly in shared caches; a signed-in reader's are private."""
    if request.method not in {"GET", "HEAD"} or response.status_code not in {200, 304}:
        return response
    if "Cache-Control" in response.headers:
        # The route decided (the tags: the same for everyone, so no Vary either).
        return response
    if request.headers.get("Authorization"):
        response.headers["Cache-Control"] = "private, no-cache"
    else:
        max_age = services().settings.public_max_age
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    # The same URL answers differently with a token (following, favorited).
    response.vary.add("Authorization")
    return response


def refuse_nul_in_path(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A slug with a NUL character cannot exist (PostgreSQL text cannot hold one): 404."""
    if values and any("\x00" in str(v) for v in values.values()):
        raise NotFound("not found")
