"""Articles, comments, the author replica and the rules for their fields. Plain Python."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Mapping

from newsroom_common.errors import ValidationFailed

TITLE_MAX = 255
DESCRIPTION_MAX = 1000
BODY_MAX = 100_000
COMMENT_MAX = 10_000
TAG_MAX = 64
TAGS_MAX = 20
SLUG_MAX = 96
PAGE_DEFAULT = 20
PAGE_MAX = 100
OFFSET_MAX = 1_000_000_000
# Slugs that would be shadowed by a fixed route under /api/articles/.
RESERVED_SLUGS = frozenset({"feed"})
_NOT_SLUG = re.compile(r"[^\w]+")
# PostgreSQL text cannot hold NUL characters: refuse them before they reach the database.
NUL_MESSAGE = "must not contain NUL characters"


@dataclasses.dataclass
class Article:
    """An article as its author wrote it; `tags` are sorted and unique."""

    id: str
    slug: str
    title: str
    description: str
    body: str
    tags: tuple[str, ...]
    author_id: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Profile:
    """A user's public profile, as replicated from the users service.

    `bio` and `image` are None while unset (answered as null), never "": see `unset_if_blank`.
    """

    id: str
    username: str
    bio: str | None = None
    image: str | None = None


def unset_if_blank(value: str | None) -> str | None:
    """An optional profile field as kept: None for null or "" (users' older events sent "")."""
    return value or None


@dataclasses.dataclass(frozen=True)
class Author:
    """An author from the viewer's point of view; `known` is False until the replica has them."""

    id: str
    username: str
    bio: str | None
    image: str | None
    following: bool
    known: bool = True


@dataclasses.dataclass(frozen=True)
class ArticleView:
    """An article as a reader sees it."""

    article: Article
    author: Author
    favorited: bool
    favorites_count: int


@dataclasses.dataclass(frozen=True)
class CommentView:
    """A comment as a reader sees it."""

    id: int
    article_id: str
    body: str
    author: Author
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Comment:
    """A comment's facts needed to decide who may delete it."""

    id: int
    article_id: str
    author_id: str


@dataclasses.dataclass(frozen=True)
class ArticleFilter:
    """Which articles a list shows; every given filter must hold."""

    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    # The feed: only authors this user follows.
    followed_by: str | None = None


@dataclasses.dataclass(frozen=True)
class PageRequest:
    """A window of a newest-first list."""

    limit: int = PAGE_DEFAULT
    offset: int = 0


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of articles and how many match in all."""

    articles: list[ArticleView]
    count: int


def slugify(title: str) -> str:
    """A URL-safe slug of `title`: lower case words joined by '-' (never empty)."""
    normalized = unicodedata.normalize("NFKC", title).lower()
    slug = _NOT_SLUG.sub("-", normalized).replace("_", "-").strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:SLUG_MAX].strip("-")
    return slug or "article"


def slug_candidates(title: str, article_id: str) -> list[str]:
    """Slugs to try in order: the title's own, then made unique by the article's id."""
    base = slugify(title)
    suffix = article_id.replace("-", "")
    candidates = [] if base in RESERVED_SLUGS else [base]
    return [*candidates, f"{base}-{suffix[:8]}", f"{base}-{suffix}"]


def parse_page(limit: object, offset: object) -> PageRequest:
    """Page bounds from query parameters; a limit above the cap is capped, nonsense is a 422."""
    errors: dict[str, list[str]] = {}
    parsed_limit = _integer(limit, PAGE_DEFAULT)
    if parsed_limit is None or parsed_limit < 1:
        errors["limit"] = [f"must be an integer from 1 to {PAGE_MAX}"]
    parsed_offset = _integer(offset, 0)
    if parsed_offset is None or not 0 <= parsed_offset <= OFFSET_MAX:
        errors["offset"] = [f"must be an integer from 0 to {OFFSET_MAX}"]
    if errors:
        raise ValidationFailed(fields=errors)
    assert parsed_limit is not None
    assert parsed_offset is not None
    return PageRequest(limit=min(parsed_limit, PAGE_MAX), offset=parsed_offset)


def _integer(raw: object, default: int) -> int | None:
    if raw is None or raw == "":
        return default
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d{1,12}", raw.strip()):
        return int(raw)
    return None


def validate_article(fields: Mapping[str, object], *, required: bool) -> dict[str, object]:
    """The article fields present in `fields`, cleaned; a 422 with a message per bad field."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, object] = {}
    limits = {"title": TITLE_MAX, "description": DESCRIPTION_MAX, "body": BODY_MAX}
    for name, limit in limits.items():
        if name not in fields or fields[name] is None:
            if required:
                errors[name] = ["can't be blank"]
            continue
        value = fields[name]
        if not isinstance(value, str):
            errors[name] = ["must be a string"]
        elif "\x00" in value:
            errors[name] = [NUL_MESSAGE]
        elif not value.strip():
            errors[name] = ["can't be blank"]
        elif len(value) > limit:
            errors[name] = [f"is too long (at most {limit} characters)"]
        else:
            clean[name] = value.strip() if name == "title" else value
    if "tagList" in fields and fields["tagList"] is not None:
        try:
            clean["tags"] = normalize_tags(fields["tagList"])
        except ValueError as exc:
            errors["tagList"] = [str(exc)]
    elif required:
        clean["tags"] = ()
    if errors:
        raise ValidationFailed(fields=errors)
    return clean


def normalize_tags(raw: object) -> tuple[str, ...]:
    """Tags trimmed, deduplicated and sorted; ValueError saying what is wrong."""
    if not isinstance(raw, list):
        raise ValueError("must be a list of strings")
    tags: set[str] = set()
    for item in raw:
        if not isinstance(item, str):
            raise ValueError("must be a list of strings")
        tag = item.strip()
        if "\x00" in tag:
            raise ValueError(NUL_MESSAGE)
        if not tag:
            raise ValueError("tags can't be blank")
        if len(tag) > TAG_MAX:
            raise ValueError(f"tags are at most {TAG_MAX} characters")
        tags.add(tag)
    if len(tags) > TAGS_MAX:
        raise ValueError(f"at most {TAGS_MAX} tags")
    return tuple(sorted(tags))


def validate_comment(body: object) -> str:
    """A comment's body; a 422 when blank or too long."""
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed(fields={"body": ["can't be blank"]})
    if "\x00" in body:
        raise ValidationFailed(fields={"body": [NUL_MESSAGE]})
    if len(body) > COMMENT_MAX:
        raise ValidationFailed(fields={"body": [f"is too long (at most {COMMENT_MAX} characters)"]})
    return body


def utc_now() -> dt.datetime:
    """The current time in UTC, at the millisecond precision responses show."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso_ms(moment: dt.datetime) -> str:
    """UTC ISO 8601 with milliseconds and 'Z', as the RealWorld clients expect."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
