"""A private PostgreSQL cluster under var/: one database and one role per service, scram on TCP."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import psycopg2
from psycopg2 import sql

from newsroom_common.database_url import DatabaseUrlError, psycopg2_url
from newsroom_devstack.net import LOOPBACK, free_port, port_is_free
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.supervisor import Process, StartupError, Supervisor

SUPERUSER = "postgres"
# Unprivileged account that runs the server when we are root (initdb and postgres refuse root).
RUN_AS_WHEN_ROOT = "nobody"
# Settings for a throw-away developer cluster; durability is traded for speed on purpose.
DEV_SETTINGS: Mapping[str, str] = {
    "listen_addresses": LOOPBACK,
    "max_connections": "200",
    "shared_buffers": "128MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] %q%u@%d ",
    "password_encryption": "scram-sha-256",
}
# Only the devstack (owner of the 0700 socket directory) administers, over the socket; services
# log in with their own role and password over TCP, and only their own database accepts them.
PG_HBA = f"""\
# TYPE  DATABASE  USER         ADDRESS        METHOD
local   all       {SUPERUSER}                 trust
local   all       all                         reject
host    all       {SUPERUSER}  127.0.0.1/32   reject
host    all       {SUPERUSER}  ::1/128        reject
host    all       all          127.0.0.1/32   scram-sha-256
host    all       all          ::1/128        scram-sha-256
"""
# Unix socket paths are limited to 107 bytes; beyond this we put the socket in a short temp dir.
_MAX_SOCKET_DIR = 80


def pg_bindir() -> Path:
    """Return the PostgreSQL server binaries folder (env PG_BINDIR, else pg_config --bindir)."""
    if configured := os.environ.get("PG_BINDIR"):
        return Path(configured)
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise StartupError(
        "PostgreSQL server binaries (initdb, postgres) not found: install the PostgreSQL server "
        "(Debian: apt-get install postgresql) or set PG_BINDIR; or point the services at an "
        "external server with USERS_DATABASE_URL, ARTICLES_DATABASE_URL and VIEWS_DATABASE_URL"
    )


def database_url(*, role: str, password: str, port: int, database: str) -> str:
    """Return the URL handed to a service, in the plain form operators and CloudNativePG write.

    The services turn it into their psycopg2 URL themselves (newsroom_common.database_url), so
    the path a real installation takes is the one every local run and test takes too.
    """
    return f"postgresql://{role}:{password}@{LOOPBACK}:{port}/{database}"


class PostgresCluster:
    """A PostgreSQL cluster in <root>/postgres: created once, then started on the same port."""

    def __init__(
        self,
        root: Path,
        *,
        supervisor: Supervisor | None = None,
        services: Sequence[str] = SERVICE_NAMES,
        port: int | None = None,
        bindir: Path | None = None,
    ) -> None:
        self.home = root.resolve() / "postgres"
        self.data_dir = self.home / "data"
        self.supervisor = supervisor if supervisor is not None else Supervisor(root)
        self.services = tuple(services)
        self.process_name = "postgres"
        self._bindir = bindir
        self._state_path = self.home / "state.json"
        self._credentials_path = self.home / "credentials.json"
        state = self._load_state()
        self.port: int = port or _reuse_port(state.get("port")) or free_port()
        self._socket_dir = self._choose_socket_dir()
        self._run_as = _unprivileged_account() if os.geteuid() == 0 else None

    @property
    def process(self) -> Process:
        """Return the server process (to stop, kill or restart it from a test)."""
        return self.supervisor.process(self.process_name)

    def start(self, *, timeout: float = 60.0) -> None:
        """Create the cluster if needed, start it, wait until it answers, provision the services."""
        self.start_server()
        self.wait_ready(timeout=timeout)
        self.provision()

    def start_server(self) -> None:
        """Create the cluster if needed and start the server without waiting for it."""
        if self._registered() and self.process.is_running():
            return
        self._initdb_once()
        self._prepare_socket_dir()
        argv = [str(self._bin("postgres")), "-D", str(self.data_dir), "-p", str(self.port)]
        argv += ["-k", str(self._socket_dir)]
        for name, value in DEV_SETTINGS.items():
            argv += ["-c", f"{name}={value}"]
        self.supervisor.start(
            self.process_name,
            self._as_server_user(argv),
            # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
            stop_signal=signal.SIGINT,
            stop_timeout=20.0,
            tier=0,
        )
        self._save_state()

    def wait_ready(self, *, timeout: float = 60.0) -> None:
        """Wait until the server accepts the administrator's connections."""
        self.process.wait_until(
            self._answers, what="PostgreSQL accepting connections", timeout=timeout
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected, data is kept)."""
        if self._registered():
            self.process.stop()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would; start() recovers it."""
        if self._registered():
            self.process.kill()

    def restart(self) -> None:
        """Stop and start the server on the same port with the same data."""
        self.stop()
        self.start()

    def provision(self) -> None:
        """Create (or update) one role and one database per service; idempotent."""
        passwords = self._passwords()
        with contextlib.closing(self.admin_connection()) as conn, conn.cursor() as cur:
            # Nobody but the superuser may connect to the built-in databases.
            for builtin in ("postgres", "template1"):
                cur.execute(
                    sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                        sql.Identifier(builtin)
                    )
                )
            for service in self.services:
                role = sql.Identifier(service)
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (service,))
                verb = sql.SQL("ALTER" if cur.fetchone() else "CREATE")
                # Rewritten each time so the stored password is always the one in force.
                cur.execute(
                    sql.SQL(
                        "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"
                    ).format(verb, role, sql.Literal(passwords[service]))
                )
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (service,))
                if not cur.fetchone():
                    cur.execute(
                        sql.SQL(
                            "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0"
                        ).format(role, role)
                    )
                cur.execute(
                    sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(role)
                )

    def database_url(self, service: str) -> str:
        """Return the URL a service is given: its own role on its own database."""
        if service not in self.services:
            raise KeyError(f"no database for {service!r} (known: {', '.join(self.services)})")
        password = self._passwords()[service]
        return database_url(role=service, password=password, port=self.port, database=service)

    def admin_connection(self, database: str = "postgres") -> psycopg2.extensions.connection:
        """Return an autocommit superuser connection over the Unix socket."""
        conn = psycopg2.connect(
            host=str(self._socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname=database,
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def _registered(self) -> bool:
        return any(p.name == self.process_name for p in self.supervisor.processes())

    def _answers(self) -> bool:
        try:
            conn = self.admin_connection()
        except psycopg2.OperationalError:
            return False
        conn.close()
        return True

    def _initdb_once(self) -> None:
        if (self.data_dir / "PG_VERSION").is_file():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        if self.data_dir.exists():
            # A half-made cluster from an interrupted first run: start over.
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(mode=0o700)
        self._give_to_server_user(self.data_dir)
        argv = [str(self._bin("initdb")), "-D", str(self.data_dir), "-U", SUPERUSER]
        argv += ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"]
        argv += ["--locale=C", "--no-sync", "--no-instructions"]
        result = subprocess.run(
            self._as_server_user(argv), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise StartupError(
                f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(PG_HBA)
        self._give_to_server_user(hba)

    def _choose_socket_dir(self) -> Path:
        wanted = self.home / "run"
        if len(str(wanted)) <= _MAX_SOCKET_DIR:
            return wanted
        return Path(tempfile.gettempdir()) / f"newsroom-pg-{os.getpid()}-{self.port}"

    def _prepare_socket_dir(self) -> None:
        self._socket_dir.mkdir(parents=True, exist_ok=True)
        self._socket_dir.chmod(0o700)
        self._give_to_server_user(self._socket_dir)

    def _bin(self, name: str) -> Path:
        if self._bindir is None:
            self._bindir = pg_bindir()
        return self._bindir / name

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if self._run_as is None:
            return argv
        uid, gid = self._run_as
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        if not _traversable_by_others(self.home):
            # The repository sits under a folder others cannot enter (say /root): let the server
            # account pass through folders it does not own; it still writes only its own files.
            prefix += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
        return [*prefix, "--", *argv]

    def _give_to_server_user(self, path: Path) -> None:
        if self._run_as is not None:
            os.chown(path, *self._run_as)

    def _passwords(self) -> dict[str, str]:
        stored: dict[str, str] = {}
        if self._credentials_path.is_file():
            stored = json.loads(self._credentials_path.read_text())
        missing = [s for s in self.services if s not in stored]
        if missing:
            stored.update({s: secrets.token_urlsafe(24) for s in missing})
            self.home.mkdir(parents=True, exist_ok=True)
            _write_private(self._credentials_path, json.dumps(stored, indent=2) + "\n")
        return stored

    def _load_state(self) -> dict[str, int]:
        try:
            state: dict[str, int] = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}
        return state

    def _save_state(self) -> None:
        self._state_path.write_text(json.dumps({"port": self.port}) + "\n")


class ExternalPostgres:
    """Databases given by <PREFIX>_DATABASE_URL; the other services' from a local cluster."""

    def __init__(self, urls: Mapping[str, str], local: PostgresCluster | None = None) -> None:
        self.urls = dict(urls)
        self.local = local

    def database_url(self, service: str) -> str:
        """Return the given URL for service, else the local cluster's."""
        if service in self.urls:
            return self.urls[service]
        if self.local is None:
            raise KeyError(f"no database URL for {service!r}")
        return self.local.database_url(service)

    def start_server(self) -> None:
        """Start the local cluster, if some service still needs it."""
        if self.local is not None:
            self.local.start_server()

    def wait_ready(self, *, timeout: float = 60.0) -> None:
        """Wait for the local cluster, if any (the external servers are the developer's)."""
        if self.local is not None:
            self.local.wait_ready(timeout=timeout)

    def provision(self) -> None:
        """Provision the local cluster, if any."""
        if self.local is not None:
            self.local.provision()

    def start(self, *, timeout: float = 60.0) -> None:
        """Start, wait for and provision the local cluster, if any."""
        if self.local is not None:
            self.local.start(timeout=timeout)


Databases = PostgresCluster | ExternalPostgres


def postgres_from_env(root: Path, *, supervisor: Supervisor) -> Databases:
    """Return the local cluster, unless <PREFIX>_DATABASE_URL replaces it for some services."""
    overrides = database_overrides()
    if len(overrides) == len(SERVICE_NAMES):
        return ExternalPostgres(overrides)
    cluster = PostgresCluster(root, supervisor=supervisor)
    return ExternalPostgres(overrides, cluster) if overrides else cluster


def database_overrides(services: Sequence[str] = SERVICE_NAMES) -> dict[str, str]:
    """Return the database URLs set in the environment (USERS_DATABASE_URL, ...).

    Each is checked here, so a URL the services cannot use stops the stack before anything
    starts, with the services' own message.
    """
    overrides = {}
    for service in services:
        variable = f"{service.upper()}_DATABASE_URL"
        if url := os.environ.get(variable):
            try:
                psycopg2_url(url, variable=variable)
            except DatabaseUrlError as error:
                raise StartupError(str(error)) from None
            overrides[service] = url
    return overrides


def _reuse_port(port: int | None) -> int | None:
    return port if port and port_is_free(port) else None


def _unprivileged_account() -> tuple[int, int]:
    try:
        account = pwd.getpwnam(RUN_AS_WHEN_ROOT)
    except KeyError:
        raise StartupError(
            f"running as root, PostgreSQL needs an unprivileged account: user {RUN_AS_WHEN_ROOT!r} "
            "does not exist"
        ) from None
    if shutil.which("setpriv") is None:
        raise StartupError(
            "running as root, the devstack needs setpriv (util-linux) to start PostgreSQL"
        )
    return account.pw_uid, account.pw_gid


def _traversable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents) if p.exists())


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
