"""Recent pages of articles as anyone sees them, valid while the database has not changed.

A signed-in reader's page differs from everyone else's by two flags per article
(`favorited`, the author's `following`). Each API process keeps the public part of
the pages it served and, for the next reader, asks PostgreSQL one small question:
the current snapshot (`pg_current_snapshot()`) and that reader's flags for the
page's articles and authors. Every transaction that wrote changes the snapshot when
it ends (the highest completed transaction id moves, or it leaves the in-progress
list), so an unchanged snapshot means nothing was committed since the page was read:
it is served from memory with the reader's flags, exactly as the full query would
have answered. Any write (an article, a favorite, a replicated profile, an outbox row
marked sent) changes it, and the next read of every page goes to the database again.
Nothing has to invalidate anything, and several processes or replicas never disagree
for longer than a statement.

Transaction ids belong to the PostgreSQL *cluster*: where other services' databases
share it (the devstack), their commits end the pages' validity too. A page read many
times a second still comes from memory between them; a page read rarely does not,
which is why single articles (many, each read now and then, each read recording a
view that the views service commits) are not cached this way.

The snapshot is read before the page, never after: a write that lands between the
two makes the cached page newer than its snapshot, so the next reader sees another
snapshot and reads again; the reverse (a page older than its snapshot) cannot happen.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from newsroom_articles.domain.model import ArticleView

# Pages of 20 without bodies are ~10 KB: 128 of them stay within ~1.3 MB per process.
DEFAULT_CAPACITY = 128

# Prepared once per connection (see `prepare_check`): planning it anew took PostgreSQL three
# times as long as running it. The page's ids arrive as arrays; ids not in the cache: none.
_PREPARE = """
PREPARE newsroom_read_check(uuid, uuid[], uuid[]) AS
SELECT pg_current_snapshot()::text AS snapshot,
       ARRAY(SELECT f.article_id::text FROM favorites f
             WHERE f.user_id = $1 AND f.article_id = ANY($2)) AS favorited,
       ARRAY(SELECT w.followee_id::text FROM follows w
             WHERE w.follower_id = $1 AND w.followee_id = ANY($3)) AS following
"""
_CHECK = "EXECUTE newsroom_read_check(%(viewer)s, %(articles)s::uuid[], %(authors)s::uuid[])"


def prepare_check(dbapi_connection: Any, _record: Any = None) -> None:
    """Prepare the check on a new connection (a `connect` listener of the reads' engine)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute(_PREPARE)
    if not dbapi_connection.autocommit:
        dbapi_connection.commit()


@dataclasses.dataclass(frozen=True)
class _Entry:
    snapshot: str
    value: Any
    article_ids: tuple[str, ...] = ()
    author_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Check:
    """The database's snapshot now, and the reader's flags for a cached page's rows."""

    snapshot: str
    favorited: frozenset[str]
    following: frozenset[str]


class ReadCache:
    """A bounded, thread-safe map of key -> (snapshot, value), least recently used out first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = max(1, capacity)
        self._entries: collections.OrderedDict[Hashable, _Entry] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, connection: Connection, key: Hashable, viewer_id: str | None) -> Check:
        """One statement: the snapshot, and the viewer's flags for the rows cached under key."""
        with self._lock:
            entry = self._entries.get(key)
        row = connection.exec_driver_sql(
            _CHECK,
            {
                "viewer": viewer_id,
                "articles": list(entry.article_ids) if entry else [],
                "authors": list(entry.author_ids) if entry else [],
            },
        ).one()
        return Check(row.snapshot, frozenset(row.favorited), frozenset(row.following))

    def get(self, key: Hashable, snapshot: str) -> Any | None:
        """The value cached under key at this snapshot, or None (a stale one is dropped)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.snapshot != snapshot:
                if entry is not None:
                    del self._entries[key]
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value

    def put(self, key: Hashable, snapshot: str, value: Any, *, views: Sequence[Any] = ()) -> None:
        """Cache value (for a page, its public views) as read at snapshot."""
        entry = _Entry(
            snapshot,
            value,
            article_ids=tuple(v.article.id for v in views),
            author_ids=tuple(sorted({v.author.id for v in views})),
        )
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


def public(views: Sequence[ArticleView]) -> tuple[ArticleView, ...]:
    """The views as an anonymous reader sees them (no reader's flags)."""
    return tuple(
        v
        if not v.favorited and not v.author.following
        else dataclasses.replace(
            v, favorited=False, author=dataclasses.replace(v.author, following=False)
        )
        for v in views
    )


def personal(views: Sequence[ArticleView], check: Check) -> list[ArticleView]:
    """Public views with one reader's flags (most rows have none and are shared as they are)."""
    return [
        v
        if v.article.id not in check.favorited and v.author.id not in check.following
        else dataclasses.replace(
            v,
            favorited=v.article.id in check.favorited,
            author=dataclasses.replace(v.author, following=v.author.id in check.following),
        )
        for v in views
    ]
