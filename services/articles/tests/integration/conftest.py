"""Fixtures for the articles integration tests: users and requests through the real gateway."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from newsroom_devstack.stack import Stack

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class User:
    """A registered user and their token."""

    id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


class Api:
    """Requests to one base URL (the gateway), JSON in and out."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def request(
        self, method: str, path: str, *, user: User | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if user is not None:
            headers.update(user.headers)
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=10, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def register(self, prefix: str = "u") -> User:
        """A new user with a unique name."""
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        response = self.post(
            "/api/users",
            json={
                "user": {
                    "username": name,
                    "email": f"{name}@example.com",
                    "password": "secret-pass-1",
                }
            },
        )
        assert response.status_code == 201, response.text
        token = response.json()["user"]["token"]
        me = self.get("/api/user", headers={"Authorization": f"Token {token}"})
        assert me.status_code == 200, me.text
        subject = _subject(token)
        return User(id=subject, username=name, token=token)

    def publish(self, user: User, **fields: Any) -> dict[str, Any]:
        """A new article by `user`; fields default to unique values."""
        article = {
            "title": f"Title {uuid.uuid4().hex[:8]}",
            "description": "a description",
            "body": "a body",
            "tagList": [],
        }
        article.update(fields)
        response = self.post("/api/articles", user=user, json={"article": article})
        assert response.status_code == 201, response.text
        return response.json()["article"]  # type: ignore[no-any-return]


def _subject(token: str) -> str:
    import base64
    import json

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def eventually(check: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns a truthy value or the deadline passes (then fail)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s (last: {last!r})")


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:
    """Requests through the gateway."""
    return Api(stack.gateway_url)


@pytest.fixture(scope="session")
def poll() -> Callable[..., Any]:
    """`eventually` as a fixture."""
    return eventually
