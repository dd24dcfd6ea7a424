"""The devstack's PostgreSQL: one database per service, each open only to its own role."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import psycopg2
import pytest

from newsroom_devstack.postgres import PostgresCluster, database_overrides
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.supervisor import StartupError


@pytest.fixture
def cluster(postgres: object) -> PostgresCluster:
    if not isinstance(postgres, PostgresCluster):
        pytest.skip("the databases are external (<SERVICE>_DATABASE_URL is set)")
    return postgres


def connect(url: str, *, database: str | None = None) -> psycopg2.extensions.connection:
    parts = urlsplit(url)
    return psycopg2.connect(
        host=parts.hostname,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        dbname=database or parts.path.lstrip("/"),
        connect_timeout=5,
    )


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_role_opens_its_own_database(cluster: PostgresCluster, service: str) -> None:
    url = cluster.database_url(service)
    # The plain form operators write; the services make it a psycopg2 URL themselves.
    assert url.startswith(f"postgresql://{service}:")
    assert f"@127.0.0.1:{cluster.port}/{service}" in url
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database()")
            assert cur.fetchone() == (service, service)
            # The database is the role's own: its migrations can create tables in it.
            cur.execute("CREATE TABLE devstack_probe (id int)")
    finally:
        conn.rollback()
        conn.close()


@pytest.mark.parametrize(
    ("service", "other"),
    [(s, o) for s, o in itertools.product(SERVICE_NAMES, [*SERVICE_NAMES, "postgres"]) if s != o],
)
def test_a_service_role_cannot_open_another_database(
    cluster: PostgresCluster, service: str, other: str
) -> None:
    with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
        connect(cluster.database_url(service), database=other).close()


def test_the_superuser_cannot_log_in_over_tcp(cluster: PostgresCluster) -> None:
    with pytest.raises(psycopg2.OperationalError, match=r"pg_hba\.conf rejects"):
        psycopg2.connect(
            host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres"
        ).close()


def test_a_restart_keeps_the_port_the_passwords_and_the_data(cluster: PostgresCluster) -> None:
    url = cluster.database_url("views")
    conn = connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS devstack_kept (id int)")
        cur.execute("INSERT INTO devstack_kept VALUES (1)")
    conn.close()

    cluster.stop()
    # A new object on the same folder, as the next `make up` makes: same port, same password.
    again = PostgresCluster(cluster.home.parent, supervisor=cluster.supervisor)
    assert again.database_url("views") == url
    cluster.start()

    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM devstack_kept")
            assert cur.fetchone() == (1,)
    finally:
        conn.close()


def test_database_overrides_are_checked_as_the_services_check_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for service in SERVICE_NAMES:
        monkeypatch.delenv(f"{service.upper()}_DATABASE_URL", raising=False)
    monkeypatch.setenv("USERS_DATABASE_URL", "postgres://users:pw@db.example.com/users")
    # Handed on as written: the services normalise it themselves.
    assert database_overrides() == {"users": "postgres://users:pw@db.example.com/users"}

    monkeypatch.setenv("VIEWS_DATABASE_URL", "mysql://views:s3cr3t-pw@db.example.com/views")
    with pytest.raises(StartupError, match=r"^VIEWS_DATABASE_URL is a mysql:// URL") as caught:
        database_overrides()
    assert "s3cr3t-pw" not in str(caught.value)
