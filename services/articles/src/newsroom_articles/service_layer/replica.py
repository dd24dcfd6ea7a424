"""Applying users' events to the local replica of profiles and follows."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from newsroom_articles.domain.model import Profile, unset_if_blank
from newsroom_articles.service_layer.ports import ReplicaUnitOfWork
from newsroom_common.events import CloudEvent

log = logging.getLogger(__name__)


def apply_users_events(work: ReplicaUnitOfWork, events: Sequence[CloudEvent]) -> None:
    """Apply events in order; an event with bad data raises (the runner dead-letters it)."""
    for event in events:
        data = event.data
        if event.name in {"UserRegistered", "UserUpdated"}:
            work.profiles.upsert(
                Profile(
                    id=_text(data, "id"),
                    username=_text(data, "username"),
                    bio=_optional_text(data, "bio"),
                    image=_optional_text(data, "image"),
                )
            )
        elif event.name == "UserFollowed":
            work.follows.create(_text(data, "follower_id"), _text(data, "followee_id"))
        elif event.name == "UserUnfollowed":
            work.follows.delete(_text(data, "follower_id"), _text(data, "followee_id"))
        else:
            # Newer event types of users are not ours to understand.
            log.debug("ignoring users event %s", event.type)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"users event field {name!r} must be a non-empty string")
    return value


def _optional_text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"users event field {name!r} must be a string or null")
    return unset_if_blank(value)
