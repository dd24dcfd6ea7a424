"""Fixtures for the users service's tests through the real gateway."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests


class Api:
    """A tiny client for the gateway, keeping the base URL and a session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Token {token}"
        return self.session.request(
            method, self.base_url + path, json=json, data=data, headers=all_headers, timeout=15
        )

    def register(self, name: str | None = None) -> dict[str, Any]:
        name = name or f"u{uuid.uuid4().hex[:12]}"
        response = self.call(
            "POST",
            "/api/users",
            json={
                "user": {
                    "username": name,
                    "email": f"{name}@example.com",
                    "password": "correct horse",
                }
            },
        )
        assert response.status_code == 201, response.text
        return response.json()["user"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def api(stack: Any) -> Api:
    return Api(stack.gateway_url)


def wait_for(predicate: Callable[[], Any], *, timeout: float = 30, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
