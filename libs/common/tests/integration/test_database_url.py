"""Database URLs in the forms operators write, against the real PostgreSQL of the test stack.

Each accepted form connects through the services' own path (settings, then `db.create_engine`)
and through a real `migrate` process, with its query parameters visible server-side; each
refused one stops a real service process at start with one line naming the variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from newsroom_common.config import ServiceSettings, load_settings
from newsroom_common.database_url import psycopg2_url
from newsroom_common.db import create_engine
from newsroom_devstack.postgres import Databases, PostgresCluster

pytestmark = pytest.mark.integration

ACCEPTED = ("postgresql", "postgres", "postgresql+psycopg2")
BIN = Path(sys.executable).parent
PASSWORD = "s3cr3t-Pa55"
# Longer than any migration, gunicorn start or refusal takes on a loaded two-core machine.
PROCESS_TIMEOUT = 120


def _local(postgres: Databases) -> PostgresCluster:
    # sslmode=disable and scratch schemas assume our own cluster, not a developer's server.
    if not isinstance(postgres, PostgresCluster):
        pytest.skip("the databases are external (<SERVICE>_DATABASE_URL is set)")
    return postgres


def _written_as(postgres: Databases, service: str, scheme: str, **query: str) -> str:
    """The service's URL as an operator might write it: `scheme`, and `query` parameters."""
    url = make_url(postgres.database_url(service)).set(drivername=scheme)
    return url.update_query_dict(query).render_as_string(hide_password=False)


@pytest.mark.parametrize("scheme", ACCEPTED)
def test_each_accepted_form_connects_with_its_parameters_seen_by_the_server(
    postgres: Databases, scheme: str
) -> None:
    _local(postgres)
    name = f"url-form-{scheme.replace('+', '-')}"
    raw = _written_as(
        postgres,
        "views",
        scheme,
        application_name=name,
        sslmode="disable",
        options="-c search_path=url_form_check,public",
    )
    settings = load_settings(
        ServiceSettings,
        prefix="VIEWS_",
        environ={"VIEWS_DATABASE_URL": raw, "VIEWS_DB_STATEMENT_TIMEOUT_MS": "4321"},
    )
    engine = create_engine(settings, application_name="views-test")
    try:
        assert engine.dialect.driver == "psycopg2"
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
            seen = connection.execute(
                sa.text(
                    "SELECT a.application_name, current_setting('search_path'),"
                    " current_setting('statement_timeout'), s.ssl"
                    " FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)"
                    " WHERE a.pid = pg_backend_pid()"
                )
            ).one()
    finally:
        engine.dispose()
    # The URL's application_name and options reach the server, next to our statement timeout.
    assert tuple(seen) == (name, "url_form_check,public", "4321ms", False)


@pytest.mark.parametrize("scheme", ACCEPTED)
def test_a_migrate_process_takes_each_form_and_keeps_its_options(
    postgres: Databases, scheme: str
) -> None:
    _local(postgres)
    schema = f"url_form_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(psycopg2_url(postgres.database_url("views")))
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        raw = _written_as(postgres, "views", scheme, options=f"-c search_path={schema}")
        done = subprocess.run(
            [str(BIN / "newsroom-views"), "migrate"],
            env={**os.environ, "VIEWS_DATABASE_URL": raw},
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        # The options query parameter put the migration in the scratch schema.
        with admin.connect() as connection:
            tables = connection.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalars()
            assert "alembic_version" in set(tables)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


REFUSED = {
    "mysql": (f"mysql://articles:{PASSWORD}@127.0.0.1:3306/articles", "is a mysql:// URL"),
    "asyncpg": (
        f"postgresql+asyncpg://articles:{PASSWORD}@127.0.0.1/articles",
        "asks for the asyncpg driver",
    ),
    "malformed": (f"postgresql://articles:{PASSWORD}@127.0.0.1:port/articles", "not a valid URL"),
}
# Every kind of process that reads ARTICLES_DATABASE_URL: migration, workers, the API.
COMMANDS = {
    "migrate": [str(BIN / "newsroom-articles"), "migrate"],
    "relay": [str(BIN / "newsroom-articles"), "relay"],
    "consume": [str(BIN / "newsroom-articles"), "consume"],
    "api": [str(BIN / "gunicorn"), "-c", "python:newsroom_articles.entrypoints.gunicorn_conf"],
}


# Each process kind once, each refused form at least once (all forms: test_database_url unit).
CASES = [("migrate", "mysql"), ("relay", "asyncpg"), ("consume", "malformed"), ("api", "mysql")]


@pytest.mark.parametrize(
    ("command", "raw", "says"),
    [(COMMANDS[c], *REFUSED[r]) for c, r in CASES],
    ids=[f"{c}-{r}" for c, r in CASES],
)
def test_a_refused_url_stops_each_process_at_start_with_one_line(
    command: list[str], raw: str, says: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "ARTICLES_DATABASE_URL": raw,
        # Were the URL let through, nothing must reach a real port or the shared metrics dir.
        "ARTICLES_BIND": "127.0.0.1:0",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    done = subprocess.run(
        [*command, "--no-control-socket"] if command[0].endswith("gunicorn") else command,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("newsroom-articles: ARTICLES_DATABASE_URL ")
    assert says in line
    assert "expected postgresql://user:password@host:5432/database" in line


@pytest.mark.parametrize("service", ["users", "articles", "views"])
def test_each_api_takes_its_gunicorn_configuration_with_a_plain_url(
    service: str, tmp_path: Path
) -> None:
    # The configuration module checks the settings in gunicorn's master; nothing it adds may
    # be taken by gunicorn for one of its own settings.
    env = {
        **os.environ,
        f"{service.upper()}_DATABASE_URL": f"postgresql://{service}:{PASSWORD}@127.0.0.1:1/x",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    config = f"python:newsroom_{service}.entrypoints.gunicorn_conf"
    done = subprocess.run(
        [str(BIN / "gunicorn"), "--print-config", "-c", config],
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"newsroom_{service}.entrypoints.app:create_app()" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
