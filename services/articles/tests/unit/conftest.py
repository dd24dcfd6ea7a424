"""The `fakes`, `app` and `client` fixtures of the articles unit tests (fakes: `fakes.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from newsroom_articles.adapters.read_cache import ReadCache
from newsroom_articles.bootstrap import Services
from newsroom_articles.config import ArticlesSettings
from newsroom_articles.entrypoints.app import create_app
from newsroom_common.auth import KeySet, TokenVerifier
from newsroom_common.config import DatabaseUrl

from .fakes import PUBLIC, FakeDirectory, Fakes, FakeSink, FakeStore, FakeUnitOfWork


@pytest.fixture
def fakes() -> Fakes:
    """A fresh fake database, users directory and view sink."""
    return Fakes(FakeStore(), FakeDirectory(), FakeSink())


class FakeServices(Services):
    """The wired services with fakes in place of PostgreSQL, users and Kafka."""

    fakes: Fakes

    def uow(self) -> FakeUnitOfWork:
        return self.fakes.uow()

    def read_uow(self) -> FakeUnitOfWork:
        return self.fakes.uow()


@pytest.fixture
def app(fakes: Fakes) -> Iterator[Flask]:
    """The articles API on fakes."""
    settings = ArticlesSettings(
        database_url=DatabaseUrl("postgresql+psycopg2://nobody@127.0.0.1:1/x")
    )
    app = create_app(settings)
    services = FakeServices(
        settings=settings,
        engine=sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/x"),
        read_engine=sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/x"),
        read_cache=ReadCache(),
        keys=KeySet.static({"k1": PUBLIC}),
        verifier=TokenVerifier(KeySet.static({"k1": PUBLIC})),
        directory=fakes.directory,
        views=fakes.views,
    )
    object.__setattr__(services, "fakes", fakes)
    app.extensions["articles"] = services
    app.config["TESTING"] = True
    yield app
    services.engine.dispose()
    services.read_engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the API."""
    return app.test_client()
