"""Helpers for tests that talk to the stack through its gateway, shared by every suite."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg2
import requests

if TYPE_CHECKING:
    from werkzeug.routing import Map

T = TypeVar("T")

PASSWORD = "correct horse battery"  # noqa: S105 - the password of throwaway test accounts


@dataclass(frozen=True)
class Account:
    """A registered user: id (the token's subject), names and token."""

    id: str
    username: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of this user."""
        return {"Authorization": f"Token {self.token}"}


def token_subject(token: str) -> str:
    """The `sub` claim of a JWT, read without verifying it (tests only)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


class GatewayClient:
    """JSON requests to one base URL (the gateway), optionally as a user."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout

    def request(
        self, method: str, path: str, *, user: Account | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send a request; `user` adds its token."""
        headers = dict(kwargs.pop("headers", None) or {})
        if user is not None:
            headers.update(user.headers)
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET `path`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """POST `path`."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """PUT `path`."""
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """DELETE `path`."""
        return self.request("DELETE", path, **kwargs)

    def register(self, prefix: str = "u") -> Account:
        """Register a new user with a unique name."""
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        email = f"{name}@example.com"
        response = self.post(
            "/api/users",
            json={"user": {"username": name, "email": email, "password": PASSWORD}},
        )
        assert response.status_code == 201, response.text
        token = response.json()["user"]["token"]
        return Account(id=token_subject(token), username=name, email=email, token=token)


def eventually(
    check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy, and return it; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what or 'condition'} not met within {timeout}s (last: {last!r})")


@contextlib.contextmanager
def scratch_schema(database_url: str) -> Iterator[str]:
    """A URL of `database_url` whose search path is a new, empty schema, dropped afterwards.

    Migrations run against it as against an empty database (Alembic's version table too),
    beside the live tables of the service, with the service's own role.
    """
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    # The services' URLs name SQLAlchemy's driver; libpq takes the same URL without it.
    libpq_url = database_url.replace("postgresql+psycopg2://", "postgresql://", 1)

    def run(statement: str) -> None:
        with contextlib.closing(psycopg2.connect(libpq_url, connect_timeout=10)) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)

    run(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in database_url else "?"
    options = urllib.parse.quote(f"-csearch_path={schema}")
    try:
        yield f"{database_url}{separator}options={options}"
    finally:
        run(f'DROP SCHEMA "{schema}" CASCADE')


def schema_drift(*, database_url: str, script_location: str, metadata: Any) -> list[Any]:
    """What differs between `metadata` and the schema its migrations build on an empty database.

    Runs every migration of `script_location` in a scratch schema, then Alembic's
    autogenerate comparison (types and server defaults included): an empty list means the
    migrations and the SQLAlchemy tables describe the same schema.
    """
    # Imported here: the devstack's own commands need neither Alembic nor the services.
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from newsroom_common.database_url import psycopg2_url
    from newsroom_common.migrations import upgrade

    with scratch_schema(database_url) as url:
        upgrade(url=url, script_location=script_location, wait_seconds=30)
        engine = sa.create_engine(psycopg2_url(url), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(
                    connection,
                    opts={"compare_type": True, "compare_server_default": True},
                )
                diff: list[Any] = compare_metadata(context, metadata)
        finally:
            engine.dispose()
    return diff


# A value of each Werkzeug converter's type, to build a concrete path of any rule.
_SAMPLE_ARGUMENTS = {
    "UnicodeConverter": "sample",
    "PathConverter": "sample/path",
    "IntegerConverter": 7,
    "FloatConverter": 7.5,
    "UUIDConverter": "6f1c5b5e-0f3a-4d4e-8a7b-2c9d0e1f2a3b",
    "AnyConverter": None,  # its first choice, below
}


def trailing_slash_mismatches(url_map: Map) -> list[str]:
    """Every (method, path) of `url_map` whose slashed form is not routed like the path.

    For each rule and method, a concrete path is built from sample arguments; it must match
    that rule, the same path with a trailing slash must match it with the same arguments,
    and neither may redirect. Empty when every route takes a trailing slash as it should.
    (A `<path:...>` argument would take the slash as its own: such a route is reported.)
    """
    # Werkzeug comes with the service under test (Flask), not with the devstack.
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import RequestRedirect

    adapter = url_map.bind("localhost")
    problems: list[str] = []
    for rule in url_map.iter_rules():
        arguments: dict[str, Any] = {}
        for name, converter in rule._converters.items():
            sample = _SAMPLE_ARGUMENTS.get(type(converter).__name__, "sample")
            if sample is None:
                sample = sorted(converter.items)[0]  # type: ignore[attr-defined]
            arguments[name] = sample
        built = rule.build(arguments, append_unknown=False)
        if built is None:
            problems.append(f"{rule.rule}: cannot build a path from {arguments}")
            continue
        path = built[1]
        for method in sorted((rule.methods or {"GET"}) - {"HEAD", "OPTIONS"}):
            answers: list[object] = []
            for candidate in (path, path + "/"):
                try:
                    answers.append(adapter.match(candidate, method, return_rule=True))
                except RequestRedirect as redirect:
                    answers.append(f"a redirect to {redirect.new_url}")
                except HTTPException as error:
                    answers.append(f"a {error.code}")
            plain, slashed = answers
            if not (isinstance(plain, tuple) and plain[0] is rule) or slashed != plain:
                problems.append(f"{method} {path} matched {plain!r}, with a slash {slashed!r}")
    return problems
