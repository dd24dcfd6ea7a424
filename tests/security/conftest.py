"""Security fixtures: raw HTTP to the gateway (any bytes, any source address) and accounts."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest

from newsroom_devstack.stack import Stack

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Answer:
    """A response: status, headers and body (parsed when JSON)."""

    status: int
    headers: Mapping[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        """Return the parsed JSON body; fail the test when it is not JSON."""
        content_type = self.headers.get("content-type", "")
        assert content_type.startswith("application/json"), (self.status, content_type, self.raw)
        return json.loads(self.raw) if self.raw else None


@dataclass(frozen=True)
class Account:
    """A registered user with the secrets only its owner may ever see."""

    id: str
    username: str
    email: str
    password: str
    token: str


class Raw:
    """HTTP/1.1 requests with exact bytes, optionally from a chosen loopback source address."""

    def __init__(self, base_url: str, *, source: str | None = None) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname is not None
        assert parts.port is not None
        self.host, self.port = parts.hostname, parts.port
        self.source = source

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request on a new connection and read the whole answer."""
        source = (self.source, 0) if self.source else None
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=30, source_address=source
        )
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Token {token}"
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, raw)
        finally:
            connection.close()

    def json(
        self, method: str, path: str, payload: Any = None, *, token: str | None = None
    ) -> Answer:
        """Send a JSON body (or none)."""
        body = None if payload is None else json.dumps(payload).encode()
        return self.send(method, path, body=body, token=token)

    def register(self, prefix: str = "sec") -> Account:
        """Register a new user; its email and password are unique, so they can be searched for."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        email = f"{name}@example.com"
        password = f"{PASSWORD} {uuid.uuid4().hex}"
        answer = self.json(
            "POST", "/api/users", {"user": {"username": name, "email": email, "password": password}}
        )
        assert answer.status == 201, answer.raw
        token = answer.body["user"]["token"]
        me = self.json("GET", "/api/user", token=token)
        assert me.status == 200, me.raw
        user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
        return Account(id=user_id, username=name, email=email, password=password, token=token)

    def publish(self, author: Account, title: str | None = None) -> dict[str, Any]:
        """Publish an article; return it."""
        article = {
            "title": title or f"secure {uuid.uuid4().hex}",
            "description": "d",
            "body": "b",
            "tagList": ["security"],
        }
        answer = self.json("POST", "/api/articles", {"article": article}, token=author.token)
        assert answer.status == 201, answer.raw
        return answer.body["article"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> Raw:
    """Raw requests to the stack's gateway."""
    return Raw(stack.gateway_url)
