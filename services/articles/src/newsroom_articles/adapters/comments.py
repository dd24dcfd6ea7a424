"""Comments in PostgreSQL; a list is one statement with every author joined."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsroom_articles.adapters.replica import author_columns, author_of
from newsroom_articles.adapters.tables import comments, profiles
from newsroom_articles.domain.model import Comment, CommentView, utc_now

_c = comments.c


def _view_query(viewer_id: str | None) -> sa.Select[Any]:
    return sa.select(
        _c.id,
        _c.article_id,
        _c.body,
        _c.created_at,
        _c.updated_at,
        *author_columns(_c.author_id, viewer_id),
    ).select_from(comments.outerjoin(profiles, profiles.c.id == _c.author_id))


def _view(row: Any) -> CommentView:
    return CommentView(
        id=row.id,
        article_id=row.article_id,
        body=row.body,
        author=author_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlCommentRepository:
    """Comments on articles, oldest first."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, comment_id: int) -> Comment | None:
        row = self._c.execute(
            sa.select(_c.id, _c.article_id, _c.author_id).where(_c.id == comment_id)
        ).first()
        return None if row is None else Comment(**row._mapping)

    def list(self, article_id: str, *, viewer_id: str | None) -> list[CommentView]:
        query = _view_query(viewer_id).where(_c.article_id == article_id).order_by(_c.id)
        return [_view(row) for row in self._c.execute(query)]

    def create(self, *, article_id: str, author_id: str, body: str) -> int:
        now = utc_now()
        return int(
            self._c.execute(
                comments.insert()
                .values(
                    article_id=article_id,
                    author_id=author_id,
                    body=body,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_c.id)
            ).scalar_one()
        )

    def view(self, comment_id: int, *, viewer_id: str | None) -> CommentView | None:
        row = self._c.execute(_view_query(viewer_id).where(_c.id == comment_id)).first()
        return None if row is None else _view(row)

    def delete(self, comment_id: int) -> None:
        self._c.execute(comments.delete().where(_c.id == comment_id))
