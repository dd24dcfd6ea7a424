"""Repositories over one connection of the unit of work."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from newsroom_common.errors import ValidationFailed
from newsroom_users.adapters.tables import follows, users
from newsroom_users.domain.model import User

_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.username,
    users.c.password_hash,
    users.c.bio,
    users.c.image,
)
_UNIQUE_FIELD = {"users_email_lower_key": "email", "users_username_lower_key": "username"}


def _user(row: sa.Row[*tuple[Any, ...]] | None) -> User | None:
    return None if row is None else User(**row._mapping)


class SqlUserRepository:
    """Users in PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, user_id: str) -> User | None:
        return _user(self._c.execute(sa.select(*_COLUMNS).where(users.c.id == user_id)).first())

    def get_by_username(self, username: str) -> User | None:
        query = sa.select(*_COLUMNS).where(sa.func.lower(users.c.username) == username.lower())
        return _user(self._c.execute(query).first())

    def get_by_email(self, email: str) -> User | None:
        query = sa.select(*_COLUMNS).where(sa.func.lower(users.c.email) == email.lower())
        return _user(self._c.execute(query).first())

    def create(self, user: User) -> None:
        # ON CONFLICT rather than a caught unique violation: PostgreSQL logs a failed statement
        # with its values (psycopg2 sends them inline), here the email and the password hash,
        # whenever two registrations of one name race past the check (tests/security).
        inserted = self._c.execute(
            pg_insert(users).values(**vars(user)).on_conflict_do_nothing().returning(users.c.id)
        ).first()
        if inserted is None:
            taken = "email" if self.get_by_email(user.email) is not None else "username"
            raise ValidationFailed(fields={taken: ["has already been taken"]})

    def reserve(self, *, email: str | None, username: str | None) -> None:
        # Transaction-level advisory locks on the lower-cased names, always email first: two
        # requests for one name take turns between check and write, so the unique index never
        # refuses a statement (PostgreSQL would log it with its values: email, password hash).
        for kind, name in (("email", email), ("username", username)):
            if name is not None:
                key = f"newsroom.users.{kind}:{name.strip().lower()}"
                self._c.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0)))
                )

    def update(self, user: User) -> None:
        values = {k: v for k, v in vars(user).items() if k != "id"}
        self._write(
            users.update().where(users.c.id == user.id).values(**values, updated_at=sa.func.now())
        )

    def _write(self, statement: sa.Executable) -> None:
        # A concurrent request can take the name between our check and our write:
        # the unique index decides, inside a savepoint so the transaction survives.
        try:
            with self._c.begin_nested():
                self._c.execute(statement)
        except sa.exc.IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "")
            field = _UNIQUE_FIELD.get(constraint or "")
            if field is None:
                raise
            raise ValidationFailed(fields={field: ["has already been taken"]}) from None


class SqlFollowRepository:
    """Follows in PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def is_following(self, follower_id: str, followee_id: str) -> bool:
        query = sa.select(sa.literal(True)).where(
            follows.c.follower_id == follower_id, follows.c.followee_id == followee_id
        )
        return self._c.execute(query).first() is not None

    def followees(self, follower_id: str) -> list[str]:
        query = sa.select(follows.c.followee_id).where(follows.c.follower_id == follower_id)
        return list(self._c.scalars(query))

    def create(self, follower_id: str, followee_id: str) -> bool:
        result = self._c.execute(
            pg_insert(follows)
            .values(follower_id=follower_id, followee_id=followee_id)
            .on_conflict_do_nothing()
        )
        return bool(result.rowcount)

    def delete(self, follower_id: str, followee_id: str) -> bool:
        result = self._c.execute(
            follows.delete().where(
                follows.c.follower_id == follower_id, follows.c.followee_id == followee_id
            )
        )
        return bool(result.rowcount)
