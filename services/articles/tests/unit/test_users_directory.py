"""The users directory adapter: a profile, None for an unknown user, Unavailable otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from newsroom_articles.adapters.users_directory import HttpUsersDirectory
from newsroom_articles.domain.model import Profile
from newsroom_common.errors import Unavailable


class StubClient:
    def __init__(self, status: int, body: Any) -> None:
        self.answer = (status, body)
        self.paths: list[str] = []

    def get_json(self, path: str) -> tuple[int, Any]:
        self.paths.append(path)
        return self.answer


def test_a_profile_by_id() -> None:
    client = StubClient(200, {"profile": {"id": "u1", "username": "jake", "bio": None}})
    directory = HttpUsersDirectory(client)  # type: ignore[arg-type]
    assert directory.get("u1") == Profile(id="u1", username="jake", bio=None, image=None)
    assert client.paths == ["/internal/users/u1/profile"]


def test_an_unknown_user_is_none() -> None:
    directory = HttpUsersDirectory(StubClient(404, {"errors": {}}))  # type: ignore[arg-type]
    assert directory.get("u1") is None


@pytest.mark.parametrize(
    ("status", "body"),
    [(401, None), (200, None), (200, {"profile": {"username": ""}}), (200, {"user": {}})],
)
def test_anything_else_is_unavailable(status: int, body: Any) -> None:
    directory = HttpUsersDirectory(StubClient(status, body))  # type: ignore[arg-type]
    with pytest.raises(Unavailable):
        directory.get("u1")
