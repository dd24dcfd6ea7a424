"""Settings from the environment, and the web layer's error shape and health endpoints."""

from __future__ import annotations

import dataclasses
from typing import NoReturn

import pytest
import sqlalchemy.exc
from flask import Flask

from newsroom_common.config import ServiceSettings, SettingsError, load_settings
from newsroom_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from newsroom_common.http_client import CircuitBreaker
from newsroom_common.web import create_base_app, json_body


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoSettings(ServiceSettings):
    port: int = 1
    debug: bool = False
    hosts: tuple[str, ...] = ()


def test_settings_read_prefixed_variables_and_mask_secrets() -> None:
    settings = load_settings(
        DemoSettings,
        prefix="DEMO_",
        environ={
            "DEMO_DATABASE_URL": "postgresql://u:hunter2@db/x",
            "DEMO_PORT": "8080",
            "DEMO_DEBUG": "yes",
            "DEMO_HOSTS": "a, b",
            "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
        },
    )
    assert (settings.port, settings.debug, settings.hosts) == (8080, True, ("a", "b"))
    assert settings.kafka_bootstrap_servers == "k:9092"
    assert "hunter2" not in repr(settings)
    # Read as operators write it, held as the psycopg2 URL the services connect with.
    assert settings.database_url.get() == "postgresql+psycopg2://u:hunter2@db/x"


def test_settings_errors_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="DEMO_DATABASE_URL is required"):
        load_settings(DemoSettings, prefix="DEMO_", environ={})
    with pytest.raises(SettingsError, match="DEMO_PORT"):
        load_settings(
            DemoSettings,
            prefix="DEMO_",
            environ={"DEMO_DATABASE_URL": "postgresql://db/x", "DEMO_PORT": "eighty"},
        )


class _PgError(Exception):
    """A driver error as psycopg2 raises them, with its SQLSTATE."""

    def __init__(self, pgcode: str | None) -> None:
        super().__init__("server said no")
        self.pgcode = pgcode


_DATABASE_FAILURES = {
    "db-refused": _PgError(None),  # never connected: no SQLSTATE
    "db-shutdown": _PgError("57P01"),  # admin_shutdown: the server is restarting
    "db-statement-timeout": _PgError("57014"),
    "db-bad-query": _PgError("42P01"),  # undefined_table: a bug, not an outage
}


@pytest.fixture
def app() -> Flask:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("secret internals")

    app = create_base_app(
        "demo", readiness={"ok": lambda: (True, "fine")}, optional_readiness={"kafka": broken}
    )

    @app.post("/echo")
    def echo() -> dict[str, object]:
        return json_body(root="thing")

    @app.get("/raise/<kind>")
    def raise_(kind: str) -> NoReturn:
        errors = {
            "404": NotFound("no such thing"),
            "403": Forbidden("not yours"),
            "409": Conflict("taken"),
            "422": ValidationFailed(fields={"title": ["can't be blank"]}),
        }
        if kind in errors:
            raise errors[kind]
        if kind in _DATABASE_FAILURES:
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, _DATABASE_FAILURES[kind])
        raise RuntimeError("database password is hunter2")

    return app


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("404", 404, {"body": ["no such thing"]}),
        ("403", 403, {"body": ["not yours"]}),
        ("409", 409, {"body": ["taken"]}),
        ("422", 422, {"title": ["can't be blank"]}),
        ("boom", 500, {"body": ["internal server error"]}),
    ],
)
def test_errors_use_the_realworld_shape(
    app: Flask, kind: str, status: int, body: dict[str, list[str]]
) -> None:
    response = app.test_client().get(f"/raise/{kind}")
    assert response.status_code == status
    assert response.get_json() == {"errors": body}


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("db-refused", 503),
        ("db-shutdown", 503),
        ("db-statement-timeout", 503),
        ("db-bad-query", 500),
    ],
)
def test_an_unavailable_database_is_a_503_to_retry_and_a_faulty_query_a_500(
    app: Flask, kind: str, status: int
) -> None:
    response = app.test_client().get(f"/raise/{kind}")
    assert response.status_code == status
    assert "errors" in response.get_json()
    assert (response.headers.get("Retry-After") == "1") is (status == 503)
    assert "server said no" not in response.get_data(as_text=True)


def test_unknown_route_and_method_are_json(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/nope").get_json() == {"errors": {"body": ["not found"]}}
    response = client.get("/echo")
    assert response.status_code == 405
    assert "errors" in response.get_json()


@pytest.mark.parametrize("data", [b"{not json", b"[]", b'{"other": {}}', b'{"thing": 3}', b""])
def test_malformed_bodies_get_422(app: Flask, data: bytes) -> None:
    response = app.test_client().post("/echo", data=data, content_type="application/json")
    assert response.status_code == 422
    assert "errors" in response.get_json()


def test_request_id_is_kept_when_sane_and_replaced_otherwise(app: Flask) -> None:
    client = app.test_client()
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\u00e9"}).headers[
        "X-Request-ID"
    ]
    assert replaced != "bad id"
    assert len(replaced) == 32


def test_readyz_reports_optional_failures_without_failing(app: Flask) -> None:
    body = app.test_client().get("/readyz").get_json()
    assert body["status"] == "ready"
    assert body["checks"]["kafka"] == {"ok": False, "detail": "RuntimeError", "required": False}


def test_circuit_breaker_opens_after_failures_and_half_opens() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=0.0)
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.allow()  # reset_after=0: a trial goes through at once
    slow = CircuitBreaker(threshold=1, reset_after=60)
    slow.failure()
    assert not slow.allow()
    slow.success()
    assert slow.allow()


def test_an_unknown_prefixed_variable_stops_the_service_naming_it() -> None:
    # A misspelt or retired setting (VIEWS_JWKS_URL was one) must not be silently ignored.
    with pytest.raises(SettingsError, match=r"DEMO_PROT, DEMO_RETIRED: not a setting of Demo"):
        load_settings(
            DemoSettings,
            prefix="DEMO_",
            environ={
                "DEMO_DATABASE_URL": "postgresql://db/x",
                "DEMO_PROT": "1",
                "DEMO_RETIRED": "",
            },
        )


def test_kubernetes_service_links_are_not_mistaken_for_settings() -> None:
    # What a Service named "demo" in the same namespace adds to every container's environment.
    links = {
        "DEMO_SERVICE_HOST": "10.0.0.1",
        "DEMO_SERVICE_PORT": "8001",
        "DEMO_SERVICE_PORT_HTTP": "8001",
        "DEMO_PORT": "tcp://10.0.0.1:8001",
        "DEMO_PORT_8001_TCP": "tcp://10.0.0.1:8001",
        "DEMO_PORT_8001_TCP_ADDR": "10.0.0.1",
        "DEMO_PORT_8001_TCP_PORT": "8001",
        "DEMO_PORT_8001_TCP_PROTO": "tcp",
    }
    settings = load_settings(
        ServiceSettings, prefix="DEMO_", environ={"DEMO_DATABASE_URL": "postgresql://db/x", **links}
    )
    assert settings.database_url


def test_malloc_parameters_are_set_on_glibc() -> None:
    import platform

    from newsroom_common.native_memory import M_ARENA_MAX, cap_malloc_arenas, mallopt

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc: mallopt has nothing to set")
    assert cap_malloc_arenas(2)
    assert mallopt(M_ARENA_MAX, 2)


def test_an_unknown_worker_class_stops_the_service_naming_it() -> None:
    with pytest.raises(SettingsError, match=r"DEMO_WORKER_CLASS: expected one of gthread, sync"):
        load_settings(
            ServiceSettings,
            prefix="DEMO_",
            environ={"DEMO_DATABASE_URL": "postgresql://db/x", "DEMO_WORKER_CLASS": "eventlet"},
        )
    settings = load_settings(
        ServiceSettings,
        prefix="DEMO_",
        environ={"DEMO_DATABASE_URL": "postgresql://db/x", "DEMO_WORKER_CLASS": "sync"},
    )
    assert settings.worker_class == "sync"
