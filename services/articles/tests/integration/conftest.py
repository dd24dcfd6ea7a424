"""Fixtures for the articles integration tests: users and requests through the real gateway."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from newsroom_articles.config import PREFIX, ArticlesSettings
from newsroom_articles.entrypoints.app import create_app
from newsroom_common.config import load_settings
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


def in_process_app(stack: Stack) -> Iterator[Flask]:
    """The articles API in this process, on the stack's database, Kafka and users.

    Another process of the same service as far as the stack is concerned: the stack's own
    articles API (behind the gateway) writes and reads the same database.
    """
    settings = load_settings(ArticlesSettings, prefix=PREFIX, environ=stack.env("articles"))
    app = create_app(settings)
    yield app
    services = app.extensions["articles"]
    services.views.close(timeout=5)
    services.engine.dispose()
    services.read_engine.dispose()


class StatementCounter:
    """Counts statements the engines (writes' and reads') send to PostgreSQL."""

    def __init__(self, *engines: sa.Engine) -> None:
        self.statements: list[str] = []
        for engine in engines:
            sa.event.listen(engine, "before_cursor_execute", self._record)

    @classmethod
    def of(cls, app: Flask) -> StatementCounter:
        """A counter on both engines of an in-process articles API."""
        services = app.extensions["articles"]
        return cls(services.engine, services.read_engine)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)
