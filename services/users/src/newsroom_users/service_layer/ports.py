"""What the use cases need from the outside world, as protocols (fakes in unit tests)."""

from __future__ import annotations

from typing import Protocol

from newsroom_common.ports import OutboxTransaction
from newsroom_users.domain.model import User


class UserRepository(Protocol):
    """Accounts; lookups by username and email ignore case."""

    def get(self, user_id: str) -> User | None: ...
    def get_by_username(self, username: str) -> User | None: ...
    def get_by_email(self, email: str) -> User | None: ...
    def create(self, user: User) -> None: ...
    def update(self, user: User) -> None: ...
    def reserve(self, *, email: str | None, username: str | None) -> None:
        """Hold the names until the transaction ends, so checking and taking them is atomic."""
        ...


class FollowRepository(Protocol):
    """Who follows whom."""

    def is_following(self, follower_id: str, followee_id: str) -> bool: ...
    def followees(self, follower_id: str) -> list[str]: ...
    def create(self, follower_id: str, followee_id: str) -> bool: ...
    def delete(self, follower_id: str, followee_id: str) -> bool: ...


class UsersUnitOfWork(OutboxTransaction, Protocol):
    """One transaction over users and follows, with the outbox."""

    @property
    def users(self) -> UserRepository: ...
    @property
    def follows(self) -> FollowRepository: ...


class ReplicaWatch(Protocol):
    """Peers' replicas of this service's events, as far as they have applied them."""

    def wait_applied(self, event_id: str, *, timeout: float) -> bool:
        """Wait until every replica that promises read-your-writes holds the event (False:
        not within `timeout`, or unknown; the event is still saved and will arrive)."""
        ...


class PasswordHasher(Protocol):
    """Slow, salted password hashing."""

    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class TokenIssuer(Protocol):
    """Signs access tokens for a user."""

    def issue(self, user: User) -> str: ...
