"""The whole platform on one machine: PostgreSQL, Kafka, every installed service, the gateway."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_devstack import services as service_table
from newsroom_devstack.gateway import Gateway, GatewaySettings
from newsroom_devstack.kafka import Broker, KafkaBroker, kafka_from_env
from newsroom_devstack.net import LOOPBACK, free_port, http_ok, port_is_free
from newsroom_devstack.paths import venv_bin
from newsroom_devstack.postgres import (
    Databases,
    ExternalPostgres,
    PostgresCluster,
    postgres_from_env,
)
from newsroom_devstack.services import SERVICES, Service, service_env
from newsroom_devstack.supervisor import Command, Process, StartupError, Supervisor

DEV_GATEWAY_PORT = 8080
JWT_KEY_FILE = "users-jwt-ed25519.pem"


@dataclass(frozen=True)
class StackOptions:
    """How to run the stack: ports, how many API instances, which services, log level."""

    # None: a free port (tests); `newsroom-stack up` passes 8080.
    gateway_port: int | None = None
    # Ports of each service's API instances (several make several instances); a service left out
    # gets one instance on its developer port if dev_ports, else on a free port.
    api_ports: Mapping[str, Sequence[int]] = field(default_factory=dict)
    dev_ports: bool = False
    log_level: str = "INFO"
    # Restrict to these services (None: every installed one).
    only: Sequence[str] | None = None
    # gunicorn workers per API instance (<PREFIX>_WORKERS): one, with its threads, is plenty on
    # a developer machine and boots fast; None keeps the service's own default.
    api_workers: int | None = 1
    ready_timeout: float = 90.0
    # Rate limits, CORS origins and the cache of the gateway.
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    # More variables for every service process, e.g. OTEL_EXPORTER_OTLP_ENDPOINT to trace a
    # stack of its own (the parent's environment reaches them too, but is shared by all stacks).
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Scripts folders (a virtualenv's bin/) to run some services' APIs and workers from, by
    # service name, e.g. the previous release's (tests/upgrades). Migrations always run from
    # this checkout's environment, as Helm runs the new release's before any pod rolls.
    bin_dirs: Mapping[str, Path] = field(default_factory=dict)


class Stack:
    """The platform: databases, broker and topics, migrations, APIs and workers, the gateway."""

    def __init__(
        self,
        root: Path,
        cache: Path,
        *,
        supervisor: Supervisor,
        options: StackOptions | None = None,
        postgres: Databases | None = None,
        kafka: Broker | None = None,
    ) -> None:
        self.root = root.resolve()
        self.options = options if options is not None else StackOptions()
        unknown = sorted(set(self.options.bin_dirs) - {s.name for s in SERVICES})
        if unknown:
            raise StartupError(
                f"bin_dirs names no service: {', '.join(unknown)} "
                f"(known: {', '.join(s.name for s in SERVICES)})"
            )
        self.supervisor = supervisor
        if postgres is None:
            postgres = postgres_from_env(root, supervisor=supervisor)
        if kafka is None:
            kafka = kafka_from_env(root, cache, supervisor=supervisor)
        self.postgres = postgres
        self.kafka = kafka
        self.services: list[Service] = [
            s
            for s in service_table.installed()
            if self.options.only is None or s.name in self.options.only
        ]
        self.api_ports: dict[str, list[int]] = {s.name: self._ports_for(s) for s in SERVICES}
        self.gateway = Gateway(
            root,
            upstreams={
                name: [f"{LOOPBACK}:{port}" for port in ports]
                for name, ports in self.api_ports.items()
            },
            port=self.options.gateway_port,
            supervisor=supervisor,
            settings=self.options.gateway,
        )
        self.jwt_private_key_file = self.root / "keys" / JWT_KEY_FILE
        self.worker_ports: dict[str, int] = {}
        self._started: list[str] = []
        self._ready_checks: dict[str, Callable[[], bool]] = {}

    @property
    def gateway_url(self) -> str:
        """Return the gateway's base URL, the platform's only public door."""
        return self.gateway.url

    def service_url(self, name: str) -> str:
        """Return the base URL of a service's first API instance (bypassing the gateway)."""
        return self.service_urls(name)[0]

    def service_urls(self, name: str) -> list[str]:
        """Return the base URLs of all API instances of a service."""
        return [f"http://{LOOPBACK}:{port}" for port in self.api_ports[name]]

    def probe_url(self, name: str) -> str:
        """Return the base URL of a worker's probes (/healthz, /readyz, /metrics)."""
        return f"http://{LOOPBACK}:{self.worker_ports[name]}"

    def process(self, name: str) -> Process:
        """Return a process of the stack by name (users-api, users-relay, kafka, gateway...)."""
        return self.supervisor.process(name)

    def env(self, name: str) -> dict[str, str]:
        """Return the variables the devstack gives every process of a service."""
        service = service_table.get(name)
        env = service_env(
            service,
            database_url=self.postgres.database_url(service.name),
            bootstrap_servers=self.kafka.bootstrap_servers,
            users_port=self.api_ports["users"][0],
            log_level=self.options.log_level,
            jwt_private_key_file=self.jwt_private_key_file,
            # Only the services this stack runs: users waits for no group nobody consumes in.
            follow_readers=[g for s in self.services for g in s.follow_readers()],
        )
        return {**env, **self.options.extra_env}

    def topics(self) -> dict[str, int]:
        """Return the topics every started service declares, topic name to partitions."""
        return {topic: n for s in self.services for topic, n in s.topics().items()}

    def process_names(self) -> list[str]:
        """Return the names of the processes the stack runs (for aligned output)."""
        names = ["postgres", "kafka", "gateway"]
        for service in self.services:
            names += [f"{service.name}-migrate", *self._api_names(service)]
            names += list(service.worker_argvs(self._bin_dir(service)))
        return names

    def start(self) -> None:
        """Start everything and wait until the gateway, every API and every worker answer."""
        topics = self.topics()  # first: a service without topics.TOPICS fails before anything runs
        self._check_fixed_ports()
        self._ensure_jwt_key()
        # The two slow starters run side by side; migrations need only PostgreSQL.
        self.postgres.start_server()
        self.kafka.start_server()
        self.postgres.wait_ready(timeout=self.options.ready_timeout)
        self.postgres.provision()
        self.supervisor.run(
            {
                f"{s.name}-migrate": Command(s.migrate_argv(venv_bin()), self._process_env(s))
                for s in self.services
            }
        )
        # The APIs need only their database: they boot while Kafka may still be starting.
        for service in self.services:
            self._start_apis(service)
        self.kafka.wait_ready(timeout=self.options.ready_timeout)
        self.kafka.create_topics(topics)
        for service in self.services:
            self._start_workers(service)
        self.gateway.start_server()
        self._started.append(self.gateway.process_name)
        self._ready_checks[self.gateway.process_name] = lambda: http_ok(
            f"{self.gateway.url}/healthz"
        )
        for name in self._started:
            self.wait_ready(name)
        for name in self._started:
            process = self.process(name)
            if not process.is_running():
                raise StartupError(f"{name} stopped during start-up.\n{process.describe_log()}")
        self.supervisor.describe(urls=self.urls(), ports=self.ports())

    def wait_ready(self, name: str, *, timeout: float | None = None) -> None:
        """Wait until a process answers its probe (APIs: readiness; workers, gateway: health)."""
        process = self.process(name)
        check = self._ready_checks.get(name, process.is_running)
        process.wait_until(
            check, what=f"{name} ready", timeout=timeout or self.options.ready_timeout
        )

    def restart(self, name: str, *, timeout: float | None = None) -> None:
        """Restart one process of the stack and wait until it is ready again."""
        self.process(name).restart()
        self.wait_ready(name, timeout=timeout)

    def stop(self) -> None:
        """Stop the services and the gateway (databases and broker belong to their owners)."""
        self.supervisor.stop(self._started)

    def urls(self) -> dict[str, str]:
        """Return the URLs a developer wants: the gateway and each service."""
        urls = {"gateway": self.gateway_url}
        urls.update({s.name: self.service_url(s.name) for s in self.services})
        return urls

    def ports(self) -> dict[str, object]:
        """Return the ports in use, by component."""
        ports: dict[str, object] = {"gateway": self.gateway.port}
        ports.update({s.name: self.api_ports[s.name] for s in self.services})
        ports.update(self.worker_ports)
        cluster = self.postgres if isinstance(self.postgres, PostgresCluster) else None
        if isinstance(self.postgres, ExternalPostgres):
            cluster = self.postgres.local
        if cluster is not None:
            ports["postgres"] = cluster.port
        if isinstance(self.kafka, KafkaBroker):
            ports["kafka"] = self.kafka.port
        return ports

    def _start_apis(self, service: Service) -> None:
        env = self._process_env(service)
        if self.options.api_workers is not None:
            env[f"{service.env_prefix}WORKERS"] = str(self.options.api_workers)
        for name, port in zip(self._api_names(service), self.api_ports[service.name], strict=True):
            argv = service.api_argv(
                self._bin_dir(service), control_socket=self.root / "run" / f"{name}.ctl"
            )
            self.supervisor.start(name, argv, env={**env, **service.bind_env(port)})
            self._started.append(name)
            self._ready_checks[name] = functools.partial(
                http_ok, f"http://{LOOPBACK}:{port}/readyz"
            )

    def _start_workers(self, service: Service) -> None:
        env = self._process_env(service)
        for name, argv in service.worker_argvs(self._bin_dir(service)).items():
            # Each worker serves its own /healthz and /readyz; the default port would collide.
            port = self.worker_ports.setdefault(name, free_port())
            worker_env = {**env, f"{service.env_prefix}WORKER_HTTP_PORT": str(port)}
            self.supervisor.start(name, argv, env=worker_env)
            self._started.append(name)
            # Running is not ready: on a loaded machine a worker takes many seconds to import
            # and serve its probes, and a test scraping them before would find nothing there.
            self._ready_checks[name] = functools.partial(
                http_ok, f"http://{LOOPBACK}:{port}/healthz"
            )

    def _bin_dir(self, service: Service) -> Path:
        return self.options.bin_dirs.get(service.name, venv_bin())

    def _api_names(self, service: Service) -> list[str]:
        count = len(self.api_ports[service.name])
        if count == 1:
            return [f"{service.name}-api"]
        return [f"{service.name}-api-{i}" for i in range(1, count + 1)]

    def _process_env(self, service: Service) -> dict[str, str]:
        # Unbuffered, so each log line reaches the terminal when it is written.
        return {**os.environ, "PYTHONUNBUFFERED": "1", **self.env(service.name)}

    def _ports_for(self, service: Service) -> list[int]:
        if service.name in self.options.api_ports:
            return list(self.options.api_ports[service.name])
        return [service.dev_port if self.options.dev_ports else free_port()]

    def _check_fixed_ports(self) -> None:
        wanted = {f"{s.name} API": p for s in self.services for p in self.api_ports[s.name]}
        wanted["gateway"] = self.gateway.port
        taken = [f"{what} ({port})" for what, port in wanted.items() if not port_is_free(port)]
        if taken:
            raise StartupError(
                f"ports already in use: {', '.join(taken)}. Is another stack running? "
                "(`newsroom-stack status`, `make down`)"
            )

    def _ensure_jwt_key(self) -> None:
        if self.jwt_private_key_file.is_file():
            return
        self.jwt_private_key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption(),
        )
        # Created 0600 from the start: the key is never readable by others, not even briefly.
        fd = os.open(self.jwt_private_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
