"""Reads through the real gateway become exactly that many views, across a consumer crash."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from newsroom_devstack.stack import Stack

from .conftest import readyz, wait_for

pytestmark = pytest.mark.e2e


class Gateway:
    """JSON requests to the gateway with an optional token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=15, **kwargs
        )

    def register(self) -> tuple[str, str]:
        name = f"v{uuid.uuid4().hex[:10]}"
        response = self.call(
            "POST",
            "/api/users",
            json={
                "user": {
                    "username": name,
                    "email": f"{name}@example.com",
                    "password": "pw-12345678",
                }
            },
        )
        assert response.status_code == 201, response.text
        return name, response.json()["user"]["token"]

    def total(self, slug: str) -> int | None:
        response = self.call("GET", f"/api/articles/{slug}/views")
        return response.json()["views"]["total"] if response.status_code == 200 else None


def _consumer_idle(stack: Stack) -> bool:
    groups = readyz(stack.probe_url("views-consume")).get("groups", {})
    lag = groups.get("views-ingest", {}).get("lag")
    return bool(lag) and not any(lag.values())


def test_reads_through_the_gateway_count_exactly_once_across_a_consumer_kill(stack: Stack) -> None:
    gateway = Gateway(stack.gateway_url)
    author, author_token = gateway.register()
    _, reader_token = gateway.register()
    created = gateway.call(
        "POST",
        "/api/articles",
        token=author_token,
        json={
            "article": {"title": f"Read me {uuid.uuid4().hex[:6]}", "description": "d", "body": "b"}
        },
    )
    assert created.status_code == 201, created.text
    slug = created.json()["article"]["slug"]

    def read(times: int) -> None:
        # Signed-in reads: a gateway cache of anonymous reads would hide some of them.
        for _ in range(times):
            assert (
                gateway.call("GET", f"/api/articles/{slug}", token=reader_token).status_code == 200
            )

    read(20)
    wait_for(lambda: gateway.total(slug) == 20, timeout=60, what="20 reads counted")

    consumer = stack.process("views-consume")
    read(15)
    consumer.kill()
    read(15)
    consumer.start()
    wait_for(lambda: gateway.total(slug) == 50, timeout=90, what="50 reads counted")
    wait_for(lambda: _consumer_idle(stack), timeout=60, what="the consumer caught up")
    assert gateway.total(slug) == 50

    popular = gateway.call("GET", "/api/views/popular?window=1h&limit=100").json()["popular"]
    mine = [p for p in popular if p["slug"] == slug]
    assert mine == [
        {
            "slug": slug,
            "title": created.json()["article"]["title"],
            "author": {"username": author},
            "views": 50,
        }
    ]

    assert gateway.call("DELETE", f"/api/articles/{slug}", token=author_token).status_code in (
        200,
        204,
    )
    wait_for(lambda: gateway.total(slug) is None, timeout=60, what="the deleted article gone")
    popular = gateway.call("GET", "/api/views/popular?window=1h&limit=100").json()["popular"]
    assert slug not in {p["slug"] for p in popular}
