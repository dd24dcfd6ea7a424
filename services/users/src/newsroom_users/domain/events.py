"""Events the users service publishes on `users.events.v1`, keyed by user id."""

from __future__ import annotations

import dataclasses

from newsroom_common.events import Event
from newsroom_users.topics import USERS_EVENTS


@dataclasses.dataclass(frozen=True)
class UserRegistered(Event):
    """A new account exists; carries only the public profile (`bio`, `image`: null while unset)."""

    TOPIC = USERS_EVENTS
    id: str
    username: str
    bio: str | None
    image: str | None

    def key(self) -> str:
        return self.id


@dataclasses.dataclass(frozen=True)
class UserUpdated(Event):
    """A user's public profile changed (`bio`, `image`: null when unset)."""

    TOPIC = USERS_EVENTS
    id: str
    username: str
    bio: str | None
    image: str | None

    def key(self) -> str:
        return self.id


@dataclasses.dataclass(frozen=True)
class UserFollowed(Event):
    """`follower_id` now follows `followee_id`."""

    TOPIC = USERS_EVENTS
    follower_id: str
    followee_id: str

    def key(self) -> str:
        return self.follower_id


@dataclasses.dataclass(frozen=True)
class UserUnfollowed(Event):
    """`follower_id` no longer follows `followee_id`."""

    TOPIC = USERS_EVENTS
    follower_id: str
    followee_id: str

    def key(self) -> str:
        return self.follower_id
