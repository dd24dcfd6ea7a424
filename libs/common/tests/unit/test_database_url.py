"""Database URLs as operators write them: accepted forms, what is kept, what is refused and how."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from newsroom_common.config import DatabaseUrl, ServiceSettings, SettingsError, load_settings
from newsroom_common.database_url import DatabaseUrlError, normalised_database_url, psycopg2_url
from newsroom_common.db import TCP_TIMEOUTS, _connect_args

PASSWORD = "s3cr3t-Pa55"  # must never show in a message
VARIABLE = "ARTICLES_DATABASE_URL"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
def test_every_accepted_scheme_becomes_psycopg2_with_everything_else_kept(scheme: str) -> None:
    raw = (
        f"{scheme}://articles:{PASSWORD}@db.example.com:6432/articles"
        "?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&options=-c%20search_path%3Dapp"
        "&application_name=articles"
    )
    url = psycopg2_url(raw, variable=VARIABLE)
    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "articles",
        PASSWORD,
        "db.example.com",
        6432,
        "articles",
    )
    assert dict(url.query) == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ssl/ca.pem",
        "options": "-c search_path=app",
        "application_name": "articles",
    }


def test_the_normalised_string_round_trips_an_encoded_password() -> None:
    raw = "postgresql://app:p%40ss%3Aw%2Fd@db/app?sslmode=require"
    normalised = normalised_database_url(raw, variable=VARIABLE)
    assert normalised == "postgresql+psycopg2://app:p%40ss%3Aw%2Fd@db/app?sslmode=require"
    assert make_url(normalised).password == "p@ss:w/d"
    # Idempotent: the settings' value can go through it again (engines, migrations).
    assert normalised_database_url(normalised) == normalised


def test_a_unix_socket_url_is_accepted() -> None:
    url = psycopg2_url("postgresql:///articles?host=/var/run/postgresql", variable=VARIABLE)
    assert (url.host, url.database, dict(url.query)) == (
        None,
        "articles",
        {"host": "/var/run/postgresql"},
    )


REFUSED = {
    "mysql": (f"mysql://articles:{PASSWORD}@db:3306/articles", "a mysql:// URL"),
    "asyncpg": (
        f"postgresql+asyncpg://articles:{PASSWORD}@db/articles",
        "the asyncpg driver, which the services do not ship",
    ),
    "psycopg3": (
        f"postgresql+psycopg://articles:{PASSWORD}@db/articles",
        "the psycopg driver, which the services do not ship",
    ),
    "sqlite": ("sqlite:///articles.db", "a sqlite:// URL"),
    "no scheme": (f"articles:{PASSWORD}@db:5432/articles", "is not a valid URL"),
    "bad port": (f"postgresql://articles:{PASSWORD}@db:fivefour/articles", "is not a valid URL"),
    "port out of range": (f"postgresql://articles:{PASSWORD}@db:99999/articles", "port 99999"),
    "unencoded @": (f"postgresql://articles:{PASSWORD}@x@db/articles", "percent-encoded"),
    "unknown parameter": (
        f"postgresql://articles:{PASSWORD}@db/articles?sslmod=require",
        "query parameter 'sslmod'",
    ),
    "empty": ("  ", "is empty"),
}


@pytest.mark.parametrize(("raw", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_a_url_the_services_cannot_use_is_refused_without_its_password(raw: str, says: str) -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        psycopg2_url(raw, variable=VARIABLE)
    message = str(caught.value)
    assert message.startswith(VARIABLE)
    assert says in message
    assert "postgresql://user:password@host:5432/database" in message or "libpq" in message
    assert PASSWORD not in message
    # Nor hidden in the exception chain a traceback would print.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


@pytest.mark.parametrize(("raw", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_settings_refuse_it_naming_the_variable(raw: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(ServiceSettings, prefix="ARTICLES_", environ={VARIABLE: raw})
    assert str(caught.value).startswith(VARIABLE)
    assert says in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_settings_hold_the_psycopg2_form_and_never_show_it() -> None:
    settings = load_settings(
        ServiceSettings,
        prefix="ARTICLES_",
        environ={VARIABLE: f"postgres://articles:{PASSWORD}@db/articles?sslmode=require"},
    )
    assert isinstance(settings.database_url, DatabaseUrl)
    assert settings.database_url.get() == (
        f"postgresql+psycopg2://articles:{PASSWORD}@db/articles?sslmode=require"
    )
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.database_url)


def test_connection_defaults_yield_to_what_the_url_says() -> None:
    plain = psycopg2_url("postgresql://a@db/a")
    assert _connect_args(
        plain, connect_timeout=3, application_name="articles-api", statement_timeout_ms=5000
    ) == {
        "connect_timeout": 3,
        "application_name": "articles-api",
        **TCP_TIMEOUTS,
        "options": "-c statement_timeout=5000",
    }
    tuned = psycopg2_url(
        "postgresql://a@db/a?connect_timeout=10&application_name=mine&keepalives_idle=60"
        "&options=-c%20search_path%3Dapp%20-c%20statement_timeout%3D900"
    )
    # connect_args override the URL's query in SQLAlchemy: the URL's own values are left to it,
    # and its options come last, where PostgreSQL lets them win.
    assert _connect_args(
        tuned, connect_timeout=3, application_name="articles-api", statement_timeout_ms=5000
    ) == {
        **{key: value for key, value in TCP_TIMEOUTS.items() if key != "keepalives_idle"},
        "options": "-c statement_timeout=5000 -c search_path=app -c statement_timeout=900",
    }
