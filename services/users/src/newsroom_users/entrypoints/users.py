"""`/api/users`, `/api/users/login` and `/api/user`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from newsroom_common.jsonio import json_response
from newsroom_common.web import json_body, principal
from newsroom_users.bootstrap import Services
from newsroom_users.domain.model import User
from newsroom_users.service_layer import users as use_cases

bp = Blueprint("users", __name__)


def _services() -> Services:
    return current_app.extensions["users"]  # type: ignore[no-any-return]


def user_json(user: User, token: str) -> dict[str, Any]:
    """The RealWorld `user` object: only its owner ever receives it."""
    return {
        "user": {
            "email": user.email,
            "token": token,
            "username": user.username,
            "bio": user.bio,
            "image": user.image,
        }
    }


@bp.post("/api/users")
def register() -> Response:
    body = json_body(root="user")
    s = _services()
    user, token = use_cases.register(
        uow=s.uow,
        hasher=s.hasher,
        tokens=s.tokens,
        email=body.get("email"),
        username=body.get("username"),
        password=body.get("password"),
    )
    return json_response(user_json(user, token), status=201)


@bp.post("/api/users/login")
def login() -> Response:
    body = json_body(root="user")
    s = _services()
    user, token = use_cases.login(
        uow=s.uow,
        hasher=s.hasher,
        tokens=s.tokens,
        email=body.get("email"),
        password=body.get("password"),
    )
    return json_response(user_json(user, token))


@bp.get("/api/user")
def current() -> Response:
    s = _services()
    caller = principal(s.verifier, required=True)
    assert caller is not None
    user = use_cases.get_current(uow=s.uow, user_id=caller.user_id)
    return json_response(user_json(user, caller.token))


@bp.put("/api/user")
def update() -> Response:
    s = _services()
    caller = principal(s.verifier, required=True)
    assert caller is not None
    changes = json_body(root="user")
    user, token = use_cases.update(
        uow=s.uow, hasher=s.hasher, tokens=s.tokens, user_id=caller.user_id, changes=changes
    )
    return json_response(user_json(user, token))
