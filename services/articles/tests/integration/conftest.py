"""Fixtures for the articles integration tests: users and requests through the real gateway."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from newsroom_devstack.stack import Stack
from newsroom_devstack.testing import Account, GatewayClient, eventually

pytestmark = pytest.mark.integration


# The shared account type: tests here call it User.
User = Account


class Api(GatewayClient):
    """The gateway client, plus a shortcut to publish articles."""

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


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:
    """Requests through the gateway."""
    return Api(stack.gateway_url)


@pytest.fixture(scope="session")
def poll() -> Callable[..., Any]:
    """`eventually` (from the devstack's test helpers) as a fixture."""
    return eventually
