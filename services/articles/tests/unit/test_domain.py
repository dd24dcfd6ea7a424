"""The domain rules: slugs, pages, field validation, tags and timestamps."""

from __future__ import annotations

import datetime as dt

import pytest

from newsroom_articles.domain.model import (
    PAGE_MAX,
    iso_ms,
    normalize_tags,
    parse_page,
    slug_candidates,
    slugify,
    validate_article,
    validate_comment,
)
from newsroom_common.errors import ValidationFailed


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("How to Train Your Dragon", "how-to-train-your-dragon"),
        ("  Hello,   World!!  ", "hello-world"),
        ("Ünïcode titles work", "ünïcode-titles-work"),
        ("snake_case and CAPS", "snake-case-and-caps"),
        ("!!!", "article"),
        ("x" * 300, "x" * 96),
    ],
)
def test_slugs_come_from_the_title(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_a_taken_slug_is_made_unique_with_the_article_id() -> None:
    article_id = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
    assert slug_candidates("Hello", article_id) == [
        "hello",
        "hello-1b9d6bcd",
        "hello-1b9d6bcdbbfd4b2d9b5dab8dfbbd4bed",
    ]


def test_a_slug_shadowed_by_a_route_is_never_used_bare() -> None:
    assert slug_candidates("Feed", "abcdef12-0000")[0] == "feed-abcdef12"


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (None, None, (20, 0)),
        ("", "", (20, 0)),
        ("5", "10", (5, 10)),
        ("1000", "0", (PAGE_MAX, 0)),
        (" 7 ", "0", (7, 0)),
    ],
)
def test_page_bounds(limit: str | None, offset: str | None, expected: tuple[int, int]) -> None:
    page = parse_page(limit, offset)
    assert (page.limit, page.offset) == expected


@pytest.mark.parametrize(
    ("limit", "offset", "fields"),
    [
        ("0", "0", {"limit"}),
        ("-1", "0", {"limit"}),
        ("ten", "0", {"limit"}),
        ("1.5", "0", {"limit"}),
        ("10", "-1", {"offset"}),
        ("10", "99999999999999999999", {"offset"}),
        ("x", "y", {"limit", "offset"}),
    ],
)
def test_nonsense_page_bounds_are_422_per_field(limit: str, offset: str, fields: set[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_page(limit, offset)
    assert set(caught.value.fields) == fields


def test_a_new_article_needs_title_description_and_body() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_article({"title": " ", "body": 3}, required=True)
    assert caught.value.fields == {
        "title": ["can't be blank"],
        "description": ["can't be blank"],
        "body": ["must be a string"],
    }


def test_an_update_checks_only_the_fields_given() -> None:
    assert validate_article({"body": "new"}, required=False) == {"body": "new"}
    with pytest.raises(ValidationFailed) as caught:
        validate_article({"title": ""}, required=False)
    assert caught.value.fields == {"title": ["can't be blank"]}


def test_tags_are_trimmed_unique_and_alphabetical() -> None:
    assert normalize_tags([" zeta", "alpha", "zeta", "Beta"]) == ("Beta", "alpha", "zeta")


@pytest.mark.parametrize("tags", ["dragons", [1], [""], ["x" * 65], [str(i) for i in range(21)]])
def test_bad_tag_lists_are_refused(tags: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_article(
            {"title": "t", "description": "d", "body": "b", "tagList": tags}, required=True
        )
    assert list(caught.value.fields) == ["tagList"]


def test_a_comment_needs_a_body() -> None:
    assert validate_comment("nice") == "nice"
    for bad in (None, "", "  ", 5, "x" * 10_001):
        with pytest.raises(ValidationFailed):
            validate_comment(bad)


def test_timestamps_are_utc_with_milliseconds() -> None:
    moment = dt.datetime(2026, 1, 1, 13, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert iso_ms(moment) == "2026-01-01T12:00:00.123Z"
