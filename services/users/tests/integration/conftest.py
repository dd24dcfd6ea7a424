"""Fixtures for the users service's tests through the real gateway."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from newsroom_devstack.testing import GatewayClient


class Api(GatewayClient):
    """The gateway client, with raw bodies and tokens given as strings."""

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Send JSON (or raw `data`, to test malformed bodies) with an optional token."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        return self.request(method, path, json=json, data=data, headers=headers)


@pytest.fixture(scope="session")
def api(stack: Any) -> Api:
    return Api(stack.gateway_url)
