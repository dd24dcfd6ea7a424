"""The service table: what each Newsroom service runs locally, on which port, with which env."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from newsroom_devstack.net import LOOPBACK


@dataclass(frozen=True)
class Service:
    """One service: its package, developer port, workers and the peers it needs to know."""

    name: str
    dev_port: int
    workers: tuple[str, ...]
    # Verifies users' JWTs locally, so it needs users' JWKS URL.
    verifies_tokens: bool = False
    # Calls users over HTTP (profile fallback), so it needs users' base URL.
    calls_users: bool = False

    @property
    def package(self) -> str:
        """Return the import name of the service's package (newsroom_users)."""
        return f"newsroom_{self.name}"

    @property
    def env_prefix(self) -> str:
        """Return the prefix of the service's settings (USERS_)."""
        return f"{self.name.upper()}_"

    @property
    def command(self) -> str:
        """Return the service's console script (newsroom-users)."""
        return f"newsroom-{self.name}"

    def is_installed(self) -> bool:
        """Tell whether the service's package is installed in this environment."""
        return importlib.util.find_spec(self.package) is not None

    def topics(self) -> dict[str, int]:
        """Return the topics the service owns, topic name to partitions (its topics.TOPICS)."""
        try:
            module = importlib.import_module(f"{self.package}.topics")
        except ModuleNotFoundError as error:
            if error.name != f"{self.package}.topics":
                raise
            raise LookupError(
                f"{self.package} is installed but has no {self.package}.topics module "
                "declaring TOPICS: dict[str, int]"
            ) from None
        declared = getattr(module, "TOPICS", None)
        if not isinstance(declared, dict):
            raise LookupError(f"{self.package}.topics.TOPICS must be a dict[str, int]")
        return {str(topic): int(partitions) for topic, partitions in declared.items()}

    def follow_readers(self) -> tuple[str, ...]:
        """Return the service's consumer groups users waits for on a follow (its
        topics.FOLLOW_READERS; none if it declares none)."""
        module = importlib.import_module(f"{self.package}.topics")
        return tuple(str(group) for group in getattr(module, "FOLLOW_READERS", ()))

    def migrate_argv(self, bin_dir: Path) -> list[str]:
        """Return the command that brings the service's database schema up to date."""
        return [str(bin_dir / self.command), "migrate"]

    def api_argv(self, bin_dir: Path, *, control_socket: Path) -> list[str]:
        """Return the command that serves the service's HTTP API (bind address from env)."""
        argv = [str(bin_dir / "gunicorn"), "-c", f"python:{self.package}.entrypoints.gunicorn_conf"]
        # gunicorn's default control socket is one per user (~/.gunicorn/gunicorn.ctl): every
        # instance gets its own under var/ instead, unless the path is too long for a socket.
        if len(str(control_socket)) < 100:
            return [*argv, "--control-socket", str(control_socket)]
        return [*argv, "--no-control-socket"]

    def worker_argvs(self, bin_dir: Path) -> dict[str, list[str]]:
        """Return the service's background workers, process name to command."""
        return {f"{self.name}-{w}": [str(bin_dir / self.command), w] for w in self.workers}

    def bind_env(self, port: int) -> dict[str, str]:
        """Return the variable that tells the gunicorn config where to listen."""
        return {f"{self.env_prefix}BIND": f"{LOOPBACK}:{port}"}


SERVICES: tuple[Service, ...] = (
    Service("users", 8001, ("relay",)),
    Service("articles", 8002, ("relay", "consume"), verifies_tokens=True, calls_users=True),
    Service("views", 8003, ("consume",)),
)
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)


def get(name: str) -> Service:
    """Return the service called name."""
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(f"no service called {name!r} (known: {', '.join(SERVICE_NAMES)})")


def installed() -> list[Service]:
    """Return the services whose package is installed (the others are not started)."""
    return [s for s in SERVICES if s.is_installed()]


def service_env(
    service: Service,
    *,
    database_url: str,
    bootstrap_servers: str,
    users_port: int,
    log_level: str,
    jwt_private_key_file: Path,
    follow_readers: Sequence[str] = (),
) -> dict[str, str]:
    """Return the variables every process of service gets (migrations, API, workers)."""
    prefix = service.env_prefix
    env = {
        f"{prefix}DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        f"{prefix}LOG_LEVEL": log_level,
    }
    users_url = f"http://{LOOPBACK}:{users_port}"
    if service.verifies_tokens:
        env[f"{prefix}JWKS_URL"] = f"{users_url}/.well-known/jwks.json"
    if service.calls_users:
        env[f"{prefix}USERS_URL"] = users_url
    if service.name == "users":
        env[f"{prefix}JWT_PRIVATE_KEY_FILE"] = str(jwt_private_key_file)
        if follow_readers:
            env[f"{prefix}FOLLOW_READERS"] = ",".join(follow_readers)
    return env
