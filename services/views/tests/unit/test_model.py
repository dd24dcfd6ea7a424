"""Buckets, windows, parameters, ranking and the replica rules (plain Python)."""

from __future__ import annotations

import datetime as dt

import pytest

from newsroom_common.errors import ValidationFailed
from newsroom_views.domain.model import (
    HOUR,
    MINUTE,
    Article,
    Author,
    Popular,
    Retention,
    View,
    Window,
    apply_article_change,
    apply_author_change,
    count,
    dedup_window,
    hour_of,
    minute_of,
    parse_limit,
    rank,
    span,
    spans_within,
)

NOW = dt.datetime(2026, 11, 22, 12, 34, 56, 789000, tzinfo=dt.UTC)
RETENTION = Retention(minutes=26 * HOUR, hours=170 * HOUR)


def _view(article: str, at: dt.datetime, n: int = 0) -> View:
    return View(event_id=f"{article}-{at.isoformat()}-{n}", article_id=article, viewed_at=at)


def test_buckets_are_utc_minutes_and_hours() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    moment = dt.datetime(2026, 11, 22, 13, 34, 56, tzinfo=paris)
    assert minute_of(moment) == dt.datetime(2026, 11, 22, 12, 34, tzinfo=dt.UTC)
    assert hour_of(moment) == dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)


def test_count_sums_per_article_and_bucket_by_the_views_own_time() -> None:
    late = NOW - 3 * HOUR
    views = [_view("a", NOW, 1), _view("a", NOW, 2), _view("a", late), _view("b", NOW)]
    increments = count(views, now=NOW, retention=RETENTION)
    assert increments.totals == {"a": 3, "b": 1}
    assert increments.minutes == {
        ("a", minute_of(NOW)): 2,
        ("a", minute_of(late)): 1,
        ("b", minute_of(NOW)): 1,
    }
    assert increments.hours == {
        ("a", hour_of(NOW)): 2,
        ("a", hour_of(late)): 1,
        ("b", hour_of(NOW)): 1,
    }


def test_count_skips_buckets_past_retention_but_keeps_the_total() -> None:
    two_days, ten_days = NOW - 48 * HOUR, NOW - 240 * HOUR
    increments = count([_view("a", two_days), _view("a", ten_days)], now=NOW, retention=RETENTION)
    assert increments.totals == {"a": 2}
    assert increments.minutes == {}
    assert increments.hours == {("a", hour_of(two_days)): 1}


def test_count_buckets_each_view_where_minute_of_and_hour_of_put_it() -> None:
    paris, kolkata = dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=5.5))
    moments = [
        NOW,
        NOW.replace(second=59, microsecond=999999),
        NOW.replace(minute=0, second=0, microsecond=0),
        (NOW - HOUR).replace(minute=59, second=59, microsecond=999999),
        NOW.astimezone(paris).replace(second=0, microsecond=0),
        NOW.astimezone(kolkata) - 90 * MINUTE,
        # Exactly at the oldest bucket still kept, and just before it.
        minute_of(NOW - RETENTION.minutes),
        minute_of(NOW - RETENTION.minutes) - dt.timedelta(microseconds=1),
        hour_of(NOW - RETENTION.hours),
        hour_of(NOW - RETENTION.hours) - dt.timedelta(microseconds=1),
    ]
    views = [_view(f"a{n}", at) for n, at in enumerate(moments)]
    oldest_minute = minute_of(NOW - RETENTION.minutes)
    oldest_hour = hour_of(NOW - RETENTION.hours)

    increments = count(views, now=NOW, retention=RETENTION)

    assert increments.minutes == {
        (v.article_id, minute_of(v.viewed_at)): 1
        for v in views
        if minute_of(v.viewed_at) >= oldest_minute
    }
    assert increments.hours == {
        (v.article_id, hour_of(v.viewed_at)): 1
        for v in views
        if hour_of(v.viewed_at) >= oldest_hour
    }
    assert all(b.tzinfo == dt.UTC for _, b in [*increments.minutes, *increments.hours])
    # The first seven within the minutes kept, all but the last within the hours kept.
    assert len(increments.minutes) == 7
    assert len(increments.hours) == 9


def test_windows_end_at_the_current_bucket() -> None:
    assert span(Window.HOUR, now=NOW).minutes_from == minute_of(NOW) - 59 * MINUTE
    day = span(Window.DAY, now=NOW)
    # 24 h back from 12:34 is 12:35 yesterday; minutes up to 13:00, whole hours after.
    assert day.minutes_from == dt.datetime(2026, 11, 21, 12, 35, tzinfo=dt.UTC)
    assert day.minutes_until == day.hours_from == dt.datetime(2026, 11, 21, 13, tzinfo=dt.UTC)
    assert span(Window.WEEK, now=NOW).hours_from == dt.datetime(2026, 11, 15, 13, tzinfo=dt.UTC)
    assert span(Window.ALL, now=NOW).all_time


def test_a_day_window_starting_on_the_hour_needs_no_minutes() -> None:
    on_the_hour = dt.datetime(2026, 11, 22, 12, 59, 30, tzinfo=dt.UTC)
    day = span(Window.DAY, now=on_the_hour)
    assert day.minutes_from == day.minutes_until == dt.datetime(2026, 11, 21, 13, tzinfo=dt.UTC)


def test_default_retention_covers_every_window() -> None:
    assert spans_within(RETENTION, now=NOW)
    assert not spans_within(Retention(minutes=2 * HOUR, hours=170 * HOUR), now=NOW)


@pytest.mark.parametrize(
    ("raw", "window"), [(None, Window.DAY), ("1h", Window.HOUR), ("all", Window.ALL)]
)
def test_window_parses_known_names(raw: str | None, window: Window) -> None:
    assert Window.parse(raw) is window


def test_unknown_window_is_a_422_naming_the_choices() -> None:
    with pytest.raises(ValidationFailed) as error:
        Window.parse("2d")
    assert error.value.fields == {"window": ["must be one of 1h, 24h, 7d, all"]}


@pytest.mark.parametrize(("raw", "limit"), [(None, 10), ("1", 1), ("100", 100), ("5000", 100)])
def test_limit_defaults_to_10_and_is_capped_at_100(raw: str | None, limit: int) -> None:
    assert parse_limit(raw) == limit


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "1.5", ""])
def test_bad_limit_is_a_422(raw: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_limit(raw)
    assert list(error.value.fields) == ["limit"]


def test_rank_orders_by_views_then_slug() -> None:
    entries = [
        Popular("b", "B", None, 5),
        Popular("c", "C", None, 7),
        Popular("a", "A", None, 5),
        Popular("d", "D", None, 1),
    ]
    assert [p.slug for p in rank(entries, limit=3)] == ["c", "a", "b"]


def _article(version: dt.datetime, *, slug: str = "s", deleted: bool = False) -> Article:
    return Article(id="a1", slug=slug, title="T", author_id="u1", deleted=deleted, version=version)


def test_article_changes_apply_in_order_and_stale_ones_are_ignored() -> None:
    first, renamed = _article(NOW), _article(NOW + MINUTE, slug="new")
    assert apply_article_change(None, first) == first
    assert apply_article_change(first, renamed) == renamed
    assert apply_article_change(renamed, first) is None


def test_a_deleted_article_stays_deleted() -> None:
    gone = _article(NOW, deleted=True)
    assert apply_article_change(gone, _article(NOW + HOUR, slug="back")) is None


def test_author_changes_ignore_stale_names() -> None:
    old, new = Author("u1", "old", NOW), Author("u1", "new", NOW + MINUTE)
    assert apply_author_change(old, new) == new
    assert apply_author_change(new, old) is None


def test_processed_ids_are_kept_at_least_as_long_as_the_topic_can_redeliver() -> None:
    two_weeks = dt.timedelta(days=14)
    assert dedup_window(two_weeks, dt.timedelta(days=7)) == two_weeks
    assert dedup_window(two_weeks, dt.timedelta(days=30)) == dt.timedelta(days=30)
    assert dedup_window(two_weeks, None) is None
