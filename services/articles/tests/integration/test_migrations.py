"""Migrations on a real PostgreSQL: what they do to rows that already exist."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from newsroom_articles.entrypoints.cli import MIGRATIONS
from newsroom_common.database_url import psycopg2_url
from newsroom_common.migrations import upgrade
from newsroom_devstack.testing import scratch_schema

pytestmark = pytest.mark.integration


def _rows(url: str) -> dict[str, tuple[str | None, str | None]]:
    engine = sa.create_engine(psycopg2_url(url), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT username, bio, image FROM profiles"))
        return {username: (bio, image) for username, bio, image in rows}


def test_0003_turns_an_unset_bio_or_image_of_the_replica_into_null_and_back(
    postgres: Any,
) -> None:
    with scratch_schema(postgres.database_url("articles")) as url:
        upgrade(url=url, script_location=MIGRATIONS, revision="0002")
        engine = sa.create_engine(psycopg2_url(url), poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            for username, bio, image in [
                ("blank", "", ""),
                ("half", "", "https://img.example/a.png"),
                ("full", "a bio", "https://img.example/a.png"),
            ]:
                connection.execute(
                    sa.text(
                        "INSERT INTO profiles (id, username, bio, image)"
                        " VALUES (:id, :username, :bio, :image)"
                    ),
                    {"id": str(uuid.uuid4()), "username": username, "bio": bio, "image": image},
                )
        upgrade(url=url, script_location=MIGRATIONS)
        assert _rows(url) == {
            "blank": (None, None),
            "half": (None, "https://img.example/a.png"),
            "full": ("a bio", "https://img.example/a.png"),
        }
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["url"] = url
        command.downgrade(config, "0002")
        assert _rows(url)["blank"] == ("", "")
