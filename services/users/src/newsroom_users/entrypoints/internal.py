"""Routes for peer services and clients, not for browsers: the JWKS, profiles and follows by id.

The gateway does not route `/internal/`; the JWKS is public by nature.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from newsroom_common.jsonio import json_response
from newsroom_users.bootstrap import Services
from newsroom_users.service_layer import users as use_cases

bp = Blueprint("internal", __name__)


def _services() -> Services:
    return current_app.extensions["users"]  # type: ignore[no-any-return]


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    response = json_response(_services().keys.jwks())
    # Verifiers cache it anyway; a short shared cache spares users a burst after a deploy.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/internal/users/<uuid:user_id>/profile")
def profile_by_id(user_id: object) -> Response:
    user_key, profile = use_cases.get_profile_by_id(uow=_services().uow, user_id=str(user_id))
    return json_response(
        {
            "profile": {
                "id": user_key,
                "username": profile.username,
                "bio": profile.bio,
                "image": profile.image,
            }
        }
    )


@bp.get("/internal/users/<uuid:user_id>/following")
def following(user_id: object) -> Response:
    ids = use_cases.followees(uow=_services().uow, user_id=str(user_id))
    return json_response({"following": ids})
