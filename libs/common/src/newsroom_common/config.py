"""Typed settings read from prefixed environment variables.

The one settings mechanism of the platform. `ServiceSettings` holds the fields every
service has; a service subclasses it with its own (`newsroom_users.config`) and reads it with
`load_settings(UsersSettings, prefix="USERS_")`. Field `database_url` is read from
`USERS_DATABASE_URL`. Values typed `Secret` never show in `repr` or logs; a `DatabaseUrl` is
checked and put in the form the services connect with as it is read. A missing, malformed or
unknown (misspelt, retired) variable stops the process at start with a message naming it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import re
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any, Literal, TypeVar

from newsroom_common.database_url import DatabaseUrlError, normalised_database_url

S = TypeVar("S")

# Read without the service prefix: one broker address serves every service.
UNPREFIXED = frozenset({"kafka_bootstrap_servers", "otel_exporter_otlp_endpoint"})
# Variables Kubernetes adds for every Service of the namespace (service links), named after
# the Service in upper case: a Service "users-db" gives USERS_DB_SERVICE_HOST,
# USERS_DB_PORT_5432_TCP_ADDR, ..., which carry the USERS_ prefix without being settings.
# Each shape is known with its value, so a misspelt setting (USERS_PORT=8001) still fails.
_LINK_SERVICE = r"(?:[A-Z0-9_]+_)?"
_LINK_PORT = r"PORT_(?P<port>\d+)_(?P<proto>TCP|UDP|SCTP)"
_LINK_URL = re.compile(
    r"(?P<proto>tcp|udp|sctp)://(?P<host>\[[0-9A-Fa-f:.]+\]|[0-9.]+):(?P<port>\d+)"
)
_SERVICE_LINKS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(_LINK_SERVICE + pattern), value)
    for pattern, value in (
        (r"SERVICE_HOST", "address"),
        (r"SERVICE_PORT(?:_[A-Z0-9_]+)?", "port"),
        (r"PORT", "url"),
        (_LINK_PORT, "url"),
        (_LINK_PORT + r"_ADDR", "address"),
        (_LINK_PORT + r"_PORT", "port"),
        (_LINK_PORT + r"_PROTO", "proto"),
    )
)


class Secret:
    """A string that is masked wherever it could be printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        """The secret value itself; call it only where it is used."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class DatabaseUrl(Secret):
    """A PostgreSQL URL as operators write it, held in the psycopg2 form (database_url.py).

    Raises DatabaseUrlError for a URL the services cannot use, naming `variable`.
    """

    __slots__ = ()

    def __init__(self, value: str, *, variable: str = "the database URL") -> None:
        super().__init__(normalised_database_url(value, variable=variable))


class SettingsError(ValueError):
    """A setting is missing or cannot be parsed."""


@contextlib.contextmanager
def exit_on_settings_error(program: str) -> Iterator[None]:
    """Stop the process with the error's one-line message (exit 2), not a traceback."""
    try:
        yield
    except SettingsError as error:
        print(f"{program}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _convert(raw: str, target: Any, name: str) -> Any:
    origin = typing.get_origin(target)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(target) if a is not type(None)]
        return _convert(raw, inner[0], name)
    if origin is Literal:
        choices = typing.get_args(target)
        value = raw.strip().lower()
        if value not in choices:
            raise SettingsError(f"{name}: expected one of {', '.join(choices)}, got {raw!r}")
        return value
    if origin is tuple:
        (item,) = typing.get_args(target)[:1]
        return tuple(_convert(p.strip(), item, name) for p in raw.split(",") if p.strip())
    if target is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{name}: expected a boolean, got {raw!r}")
    if target is int or target is float:
        try:
            return target(raw)
        except ValueError:
            raise SettingsError(f"{name}: expected {target.__name__}, got {raw!r}") from None
    if target is DatabaseUrl:
        try:
            return DatabaseUrl(raw, variable=name)
        except DatabaseUrlError as error:
            raise SettingsError(str(error)) from None
    if target is Secret:
        return Secret(raw)
    return raw


def env_name(prefix: str, field_name: str) -> str:
    """The environment variable a settings field is read from."""
    if field_name in UNPREFIXED:
        return field_name.upper()
    return f"{prefix}{field_name}".upper()


def load_settings(cls: type[S], *, prefix: str, environ: Mapping[str, str] | None = None) -> S:
    """Build settings `cls` from `environ` (default: the process environment)."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    _refuse_unknown(environ, prefix=prefix, known={f.name for f in fields}, settings=cls)
    values: dict[str, Any] = {}
    for field in fields:
        name = env_name(prefix, field.name)
        # A prefixed value wins over the shared one, so one service can be pointed elsewhere.
        raw = environ.get(f"{prefix}{field.name}".upper(), environ.get(name))
        if raw is None:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise SettingsError(f"{name} is required")
            continue
        values[field.name] = _convert(raw, hints[field.name], name)
    return cls(**values)


def _refuse_unknown(
    environ: Mapping[str, str], *, prefix: str, known: set[str], settings: type[Any]
) -> None:
    """A prefixed variable that names no setting is a typo or a retired setting: say so."""
    prefix = prefix.upper()
    unknown = sorted(
        name
        for name in environ
        if name.startswith(prefix)
        and name[len(prefix) :].lower() not in known
        and not _is_service_link(name[len(prefix) :], environ[name])
    )
    if unknown:
        raise SettingsError(
            f"{', '.join(unknown)}: not a setting of {settings.__name__} (misspelt, or retired)"
        )


def _is_service_link(name: str, value: str) -> bool:
    """True when `name` (without the prefix) and `value` are one of Kubernetes' service links."""
    for pattern, kind in _SERVICE_LINKS:
        shape = pattern.fullmatch(name)
        if shape is None:
            continue
        named = shape.groupdict()
        if kind == "address" and _is_address(value):
            return True
        if kind == "port" and value.isdigit() and value == (named.get("port") or value):
            return True
        if kind == "proto" and value == named["proto"].lower():
            return True
        url = _LINK_URL.fullmatch(value) if kind == "url" else None
        if (
            url is not None
            and _is_address(url["host"].strip("[]"))
            and url["proto"] == (named.get("proto") or url["proto"].upper()).lower()
            and url["port"] == (named.get("port") or url["port"])
        ):
            return True
    return False


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def settings_env_names(cls: type[Any], *, prefix: str) -> set[str]:
    """Every environment variable `cls` reads (used by the chart drift check)."""
    return {env_name(prefix, f.name) for f in dataclasses.fields(cls)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """Settings every service has; a service subclasses it with its own fields."""

    database_url: DatabaseUrl
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    log_level: str = "INFO"
    db_pool_size: int = 5
    db_max_overflow: int = 5
    db_pool_timeout: float = 3.0
    db_statement_timeout_ms: int = 5000
    worker_http_port: int = 9090
    # The API's liveness listener, served by gunicorn's master beside the request workers
    # (newsroom_common.gunicorn_config); 0: none.
    probe_port: int = 0
    otel_exporter_otlp_endpoint: str = ""
    # The API under gunicorn (newsroom_common.gunicorn_config); `bind` is each service's own.
    workers: int = 2
    threads: int = 4
    reload: bool = False
    # gthread by default; sync and gevent (with psycogreen) for the worker-model comparison
    # of `make bench --worker-class` (docs/benchmark).
    worker_class: Literal["gthread", "sync", "gevent"] = "gthread"
    # gunicorn's heartbeat files: tmpfs, since the root filesystem is read-only in Kubernetes.
    worker_tmp_dir: str = "/dev/shm"  # noqa: S108
