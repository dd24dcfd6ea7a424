"""Database URLs as operators and providers write them, turned into the one the services use.

A Secret made by CloudNativePG (or a cloud provider, or a developer) holds
`postgresql://user:password@host:5432/db`, sometimes `postgres://...`, sometimes with query
parameters such as `sslmode`, `sslrootcert` or `options`. SQLAlchemy 2.1 maps a plain
`postgresql://` to psycopg 3, which the services do not ship: every API, worker, migration
and tool connects through `psycopg2_url`, which keeps everything but the scheme and always
names psycopg2. Anything else (another database, another driver, a URL that does not parse)
is refused with a message naming the variable and what it expected, never the password.
"""

from __future__ import annotations

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from sqlalchemy.engine import make_url

DRIVER = "postgresql+psycopg2"
# The schemes operators write; all of them mean PostgreSQL through psycopg2.
ACCEPTED_SCHEMES = ("postgresql", "postgres", DRIVER)
EXPECTED = "postgresql://user:password@host:5432/database (or postgres://, postgresql+psycopg2://)"


class DatabaseUrlError(ValueError):
    """A database URL the services cannot connect with; the message holds no password."""


def psycopg2_url(raw: str, *, variable: str = "the database URL") -> sa.URL:
    """The SQLAlchemy URL that connects to `raw` with psycopg2, its query parameters kept.

    `variable` names where `raw` came from (`ARTICLES_DATABASE_URL`) in the error.
    """
    if not raw.strip():
        raise DatabaseUrlError(f"{variable} is empty: expected {EXPECTED}")
    not_a_url = DatabaseUrlError(
        f"{variable} is not a valid URL: expected {EXPECTED}"
        " (a password with @, :, / or % must be percent-encoded)"
    )
    try:
        url = make_url(raw.strip())
        port = url.port
    except (sa.exc.ArgumentError, ValueError):
        # Both errors may quote the URL, password included: say only what was expected.
        raise not_a_url from None
    if url.host is not None and "@" in url.host:
        raise not_a_url  # an unencoded @ in the password: the host would be half of it
    scheme = url.drivername
    if scheme not in ACCEPTED_SCHEMES:
        backend, _, driver = scheme.partition("+")
        if backend in ("postgresql", "postgres"):
            found = f"asks for the {driver} driver, which the services do not ship (psycopg2 only)"
        else:
            found = f"is a {backend}:// URL, but the services keep their data in PostgreSQL"
        raise DatabaseUrlError(f"{variable} {found}: expected {EXPECTED}")
    if port is not None and not 0 < port < 65536:
        raise DatabaseUrlError(f"{variable} has port {port}, outside 1-65535: expected {EXPECTED}")
    for name in url.query:
        if not _is_libpq_parameter(name):
            raise DatabaseUrlError(
                f"{variable} has the query parameter {name!r}, which PostgreSQL's client does "
                "not know: expected libpq connection parameters (sslmode, sslrootcert, "
                "options, application_name, ...)"
            )
    return url.set(drivername=DRIVER)


def normalised_database_url(raw: str, *, variable: str = "the database URL") -> str:
    """`psycopg2_url` as a string, password included (for settings and child processes)."""
    return psycopg2_url(raw, variable=variable).render_as_string(hide_password=False)


def _is_libpq_parameter(name: str) -> bool:
    # psycopg2 hands every query parameter to libpq, which refuses unknown ones only when
    # connecting; its own parser knows the list, so ask it now.
    if not name.isidentifier():
        return False
    try:
        psycopg2.extensions.parse_dsn(f"{name}=''")
    except psycopg2.ProgrammingError:
        return False
    return True
