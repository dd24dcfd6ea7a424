"""The replica of users' profiles and follows, and the author columns every read joins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from newsroom_articles.adapters.tables import follows, profiles
from newsroom_articles.domain.model import Author, Profile


def author_columns(
    author_id: sa.ColumnElement[Any], viewer_id: str | sa.BindParameter[str] | None
) -> list[Any]:
    """Columns of the author of a row (left-joined `profiles`) as the viewer sees them.

    `viewer_id` may be a bind parameter, bound when the statement runs (None: anonymous).
    """
    if viewer_id is None:
        following: sa.ColumnElement[bool] = sa.false()
    else:
        following = (
            sa.select(sa.literal(True))
            .where(follows.c.follower_id == viewer_id, follows.c.followee_id == author_id)
            .exists()
        )
    return [
        author_id.label("author_id"),
        profiles.c.username.label("author_username"),
        profiles.c.bio.label("author_bio"),
        profiles.c.image.label("author_image"),
        following.label("author_following"),
    ]


def author_of(row: Any) -> Author:
    """The Author in a row selected with `author_columns`."""
    if row.author_username is None:
        return Author(
            id=row.author_id,
            username="",
            bio=None,
            image=None,
            following=bool(row.author_following),
            known=False,
        )
    return Author(
        id=row.author_id,
        username=row.author_username,
        bio=row.author_bio,
        image=row.author_image,
        following=bool(row.author_following),
    )


class SqlProfileRepository:
    """Replicated profiles in PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, user_id: str) -> Profile | None:
        row = self._c.execute(
            sa.select(profiles.c.id, profiles.c.username, profiles.c.bio, profiles.c.image).where(
                profiles.c.id == user_id
            )
        ).first()
        return None if row is None else Profile(**row._mapping)

    def upsert(self, profile: Profile) -> None:
        values = {
            "id": profile.id,
            "username": profile.username,
            "bio": profile.bio,
            "image": profile.image,
        }
        statement = pg_insert(profiles).values(**values)
        self._c.execute(
            statement.on_conflict_do_update(
                index_elements=[profiles.c.id],
                set_={
                    "username": statement.excluded.username,
                    "bio": statement.excluded.bio,
                    "image": statement.excluded.image,
                    "updated_at": sa.func.now(),
                },
            )
        )

    def add_if_absent(self, profile: Profile) -> None:
        # Events are the authority: a fallback copy never overwrites what they wrote.
        self._c.execute(
            pg_insert(profiles)
            .values(id=profile.id, username=profile.username, bio=profile.bio, image=profile.image)
            .on_conflict_do_nothing()
        )


class SqlFollowRepository:
    """Replicated follows in PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def create(self, follower_id: str, followee_id: str) -> None:
        self._c.execute(
            pg_insert(follows)
            .values(follower_id=follower_id, followee_id=followee_id)
            .on_conflict_do_nothing()
        )

    def delete(self, follower_id: str, followee_id: str) -> None:
        self._c.execute(
            follows.delete().where(
                follows.c.follower_id == follower_id, follows.c.followee_id == followee_id
            )
        )
