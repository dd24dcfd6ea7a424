"""End-to-end fixtures: JSON requests through the stack's gateway, as a RealWorld client sends."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import requests

from newsroom_devstack.stack import Stack

T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    """A registered user: name and token."""

    username: str
    email: str
    token: str


class Client:
    """Requests to the gateway; every answer must be JSON, like any RealWorld client expects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        as_: Account | None = None,
        json: Any = None,
    ) -> Any:
        """Send one request; fail unless it answers `expect`; return the JSON body (or None)."""
        headers = {"Authorization": f"Token {as_.token}"} if as_ else {}
        response = self.session.request(
            method, self.base_url + path, headers=headers, json=json, timeout=15
        )
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text[:500]}"
        )
        assert response.headers.get("X-Request-ID")
        if response.status_code == 204:
            return None
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()

    def register(self, prefix: str) -> Account:
        """Register a new user with a unique name."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        email = f"{name}@example.com"
        body = self.call(
            "POST",
            "/api/users",
            expect=201,
            json={"user": {"username": name, "email": email, "password": "correct horse 1"}},
        )
        user = body["user"]
        assert (user["username"], user["email"], user["bio"], user["image"]) == (
            name,
            email,
            None,
            None,
        )
        return Account(username=name, email=email, token=user["token"])


@pytest.fixture(scope="session")
def client(request: pytest.FixtureRequest) -> Client:
    """A client of the gateway: NEWSROOM_GATEWAY_URL's (a deployed platform, e.g. the local
    cluster's http://127.0.0.1:30080 in `make k8s-test`), else the local stack's."""
    if url := os.environ.get("NEWSROOM_GATEWAY_URL"):
        return Client(url)
    stack: Stack = request.getfixturevalue("stack")
    return Client(stack.gateway_url)


def eventually(check: Callable[[], T | None], *, what: str, timeout: float = 30.0) -> T:
    """Poll `check` until it returns a value; fail after `timeout` seconds, saying `what`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout}s (last: {last!r})")
