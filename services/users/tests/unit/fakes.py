"""In-memory fakes of the users service's ports."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from newsroom_common.events import CloudEvent, Event
from newsroom_users.domain.model import User


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[str, User] = {}

    def get(self, user_id: str) -> User | None:
        user = self.rows.get(user_id)
        return None if user is None else User(**vars(user))

    def get_by_username(self, username: str) -> User | None:
        return next(
            (User(**vars(u)) for u in self.rows.values() if u.username.lower() == username.lower()),
            None,
        )

    def get_by_email(self, email: str) -> User | None:
        return next(
            (User(**vars(u)) for u in self.rows.values() if u.email.lower() == email.lower()), None
        )

    def create(self, user: User) -> None:
        self.rows[user.id] = User(**vars(user))

    def update(self, user: User) -> None:
        self.rows[user.id] = User(**vars(user))

    def reserve(self, *, email: str | None, username: str | None) -> None:
        return None  # one thread at a time in the unit tests


class FakeFollows:
    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def is_following(self, follower_id: str, followee_id: str) -> bool:
        return (follower_id, followee_id) in self.pairs

    def followees(self, follower_id: str) -> list[str]:
        return [b for a, b in self.pairs if a == follower_id]

    def create(self, follower_id: str, followee_id: str) -> bool:
        new = (follower_id, followee_id) not in self.pairs
        self.pairs.add((follower_id, followee_id))
        return new

    def delete(self, follower_id: str, followee_id: str) -> bool:
        present = (follower_id, followee_id) in self.pairs
        self.pairs.discard((follower_id, followee_id))
        return present


class FakeUnitOfWork:
    """Shares state across instances like a database; keeps published events on commit."""

    def __init__(self) -> None:
        self.users = FakeUsers()
        self.follows = FakeFollows()
        self.published: list[Event] = []
        self._pending: list[Event] = []

    def __call__(self) -> Self:
        return self

    def __enter__(self) -> Self:
        self._pending = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pending = []

    def publish(self, event: Event) -> CloudEvent:
        self._pending.append(event)
        return CloudEvent.from_event(event, source="/test", type_prefix="test")

    def commit(self) -> None:
        self.published.extend(self._pending)
        self._pending = []


class PlainHasher:
    """Reversible 'hashing' so tests run fast; the real Argon2 one has its own test."""

    def hash(self, password: str) -> str:
        return "plain$" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "plain$" + password

    def needs_rehash(self, password_hash: str) -> bool:
        return False


class FakeTokens:
    def issue(self, user: User) -> str:
        return f"token-for-{user.id}"
