"""The events the views service consumes, read from their CloudEvents (the producers' contract).

`articles.views.v1`: `ArticleViewed` {article_id, slug, viewer_id, viewed_at}.
`articles.events.v1`: `ArticlePublished|ArticleUpdated|ArticleDeleted` {id, slug, title,
author_id, tags}. `users.events.v1`: `UserRegistered|UserUpdated` {id, username, bio, image};
other types on these topics are not ours to act on and are skipped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from newsroom_common.events import CloudEvent
from newsroom_views.domain.model import Article, Author, View

VIEWED = "ArticleViewed"
ARTICLE_CHANGES = frozenset({"ArticlePublished", "ArticleUpdated", "ArticleDeleted"})
USER_CHANGES = frozenset({"UserRegistered", "UserUpdated"})


class UnreadableEvent(ValueError):
    """An event whose data breaks the contract: it goes to the dead-letter topic."""


def _text(data: dict[str, Any], name: str, event: CloudEvent) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise UnreadableEvent(f"{event.type} {event.id}: '{name}' must be a non-empty string")
    return value


def _moment(raw: str, event: CloudEvent) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise UnreadableEvent(f"{event.type} {event.id}: bad timestamp {raw!r}") from None
    # A time without an offset is taken as UTC, which is what every producer sends.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def view_of(event: CloudEvent) -> View | None:
    """The view an `ArticleViewed` records; None for another type."""
    if event.name != VIEWED:
        return None
    return View(
        event_id=event.id,
        article_id=_text(event.data, "article_id", event),
        viewed_at=_moment(_text(event.data, "viewed_at", event), event),
    )


def article_of(event: CloudEvent) -> Article | None:
    """The replica row an article event describes; None for another type."""
    if event.name not in ARTICLE_CHANGES:
        return None
    data = event.data
    return Article(
        id=_text(data, "id", event),
        slug=_text(data, "slug", event),
        title=str(data.get("title") or ""),
        author_id=str(data.get("author_id") or ""),
        deleted=event.name == "ArticleDeleted",
        version=event.time,
    )


def author_of(event: CloudEvent) -> Author | None:
    """The replica row a user event describes; None for another type (follows)."""
    if event.name not in USER_CHANGES:
        return None
    return Author(
        id=_text(event.data, "id", event),
        username=_text(event.data, "username", event),
        version=event.time,
    )
