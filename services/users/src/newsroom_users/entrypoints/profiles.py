"""`/api/profiles/{username}` and following."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from newsroom_common.jsonio import json_response
from newsroom_common.web import principal
from newsroom_users.bootstrap import Services
from newsroom_users.domain.model import Profile
from newsroom_users.service_layer import users as use_cases

bp = Blueprint("profiles", __name__)


def _services() -> Services:
    return current_app.extensions["users"]  # type: ignore[no-any-return]


def profile_json(profile: Profile) -> dict[str, Any]:
    """The RealWorld `profile` object (never an email)."""
    return {
        "profile": {
            "username": profile.username,
            "bio": profile.bio,
            "image": profile.image,
            "following": profile.following,
        }
    }


@bp.get("/api/profiles/<username>")
def get(username: str) -> Response:
    s = _services()
    viewer = principal(s.verifier, required=False)
    profile = use_cases.get_profile(
        uow=s.uow, username=username, viewer_id=viewer.user_id if viewer else None
    )
    return json_response(profile_json(profile))


@bp.post("/api/profiles/<username>/follow")
def follow(username: str) -> Response:
    s = _services()
    caller = principal(s.verifier, required=True)
    assert caller is not None
    profile = use_cases.follow(
        uow=s.uow,
        follower_id=caller.user_id,
        username=username,
        replicas=s.replicas,
        visible_within=s.settings.follow_visible_timeout_seconds,
    )
    return json_response(profile_json(profile))


@bp.delete("/api/profiles/<username>/follow")
def unfollow(username: str) -> Response:
    s = _services()
    caller = principal(s.verifier, required=True)
    assert caller is not None
    profile = use_cases.unfollow(
        uow=s.uow,
        follower_id=caller.user_id,
        username=username,
        replicas=s.replicas,
        visible_within=s.settings.follow_visible_timeout_seconds,
    )
    return json_response(profile_json(profile))
