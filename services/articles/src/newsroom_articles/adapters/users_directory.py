"""The users service over HTTP: profiles the replica has not seen yet."""

from __future__ import annotations

from newsroom_articles.domain.model import Profile, unset_if_blank
from newsroom_common.errors import Unavailable
from newsroom_common.http_client import ServiceClient


class HttpUsersDirectory:
    """Asks users for `GET /internal/users/<id>/profile`; fails fast when users is down."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    def get(self, user_id: str) -> Profile | None:
        status, body = self._client.get_json(f"/internal/users/{user_id}/profile")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("profile"), dict):
            raise Unavailable(f"users answered {status} for a profile")
        profile = body["profile"]
        username = profile.get("username")
        if not isinstance(username, str) or not username:
            raise Unavailable("users answered a profile without a username")
        bio, image = profile.get("bio"), profile.get("image")
        if not all(value is None or isinstance(value, str) for value in (bio, image)):
            raise Unavailable("users answered a profile whose bio or image is not a string")
        return Profile(
            id=user_id, username=username, bio=unset_if_blank(bio), image=unset_if_blank(image)
        )
