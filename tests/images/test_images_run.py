"""The images `make images` builds, run with podman (runc) as they run in a cluster.

Each service image runs as uid 10001 on a read-only root filesystem against the test
session's real PostgreSQL (and Kafka), migrates, and answers /healthz and /readyz; the
gateway image renders its template at start and proxies to them. The images carry no
compiler, their SBOMs and OCI labels are checked, and a registry receives a push.

Needs root (buildah and podman with the vfs store under var/) and builds the images when
they are not built yet: about 10 minutes on a fresh machine, seconds afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_devstack import containers, gotools, images, registry
from newsroom_devstack.kafka import Broker
from newsroom_devstack.net import LOOPBACK, free_port
from newsroom_devstack.paths import repo_root
from newsroom_devstack.postgres import Databases

if os.geteuid() != 0:
    pytest.skip(
        "building and running images needs root (buildah/podman with the vfs store, as "
        "`make images` runs them); run the suite as root",
        allow_module_level=True,
    )

# A fresh clone builds every image here first (bases, SBOM tool): far past the default limit.
pytestmark = pytest.mark.timeout(3600)

SERVICES = ("users", "articles", "views")
NAMES = (
    "base",
    "base-nginx",
    *SERVICES,
    "gateway",
    "postgres",
    "kafka",
    "nginx-prometheus-exporter",
)
DEV_TOOLS = ("gcc", "cc", "c++", "make", "ld", "as", "pip", "pip3", "uv")


@dataclass(frozen=True)
class Built:
    """An image of this session: its reference and what `make images` said about it."""

    name: str
    ref: str
    sbom: Path


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    """Every image of `make images`, built now unless its digest is in the store."""
    results = images.build(NAMES)
    return {r.name: Built(r.name, r.ref, r.sbom) for r in results if r.sbom is not None}


def podman(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run podman with the repository's container configuration.

    `make images` installs what building needs; running the images needs podman too, which a
    fresh machine may lack (Debian's buildah does not bring it): install it as images.py does.
    """
    containers.require_tools(["podman"])
    return subprocess.run(
        ["podman", *args],
        env=containers.environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


# As the charts run them: the image's non-root uid, nothing of the image writable.
HARDENED = ("--read-only", "--user", "10001:10001")
HOST_NET = ("--network", "host")


def http_status(url: str) -> tuple[int, bytes, dict[str, str]]:
    """Return the status, body and headers of a GET (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(), dict(error.headers)
    except (urllib.error.URLError, OSError):
        return 0, b"", {}


class Container:
    """A detached podman container of this test, removed by its name when done."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        result = podman("run", "-d", "--name", name, *argv)
        assert result.returncode == 0, f"podman run {name} failed:\n{result.stderr}"

    def logs(self) -> str:
        result = podman("logs", self.name)
        return result.stdout + result.stderr

    def running(self) -> bool:
        result = podman("inspect", "--format", "{{.State.Running}}", self.name)
        return result.stdout.strip() == "true"

    def wait_http(self, url: str, *, timeout: float = 60.0) -> None:
        """Wait until url answers 200; fail naming it, with the container's output."""
        deadline = time.monotonic() + timeout
        while http_status(url)[0] != 200:
            if not self.running():
                pytest.fail(f"{self.name} exited before {url} answered:\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{url} ({self.name}) not answering 200 within {timeout}s:\n{self.logs()}"
                )
            time.sleep(0.3)

    def remove(self) -> None:
        podman("rm", "--force", "--time", "5", self.name)


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def services(
    built: dict[str, Built], postgres: Databases, kafka: Broker, private_key_pem: str
) -> Iterator[dict[str, int]]:
    """users, articles and views from their images, migrated, on free loopback ports."""
    ports = {service: free_port() for service in SERVICES}
    users_url = f"http://{LOOPBACK}:{ports['users']}"
    started: list[Container] = []
    try:
        for service in SERVICES:
            prefix = service.upper() + "_"
            env = {
                f"{prefix}DATABASE_URL": postgres.database_url(service),
                f"{prefix}BIND": f"{LOOPBACK}:{ports[service]}",
                f"{prefix}WORKERS": "1",
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            }
            if service == "users":
                env[f"{prefix}JWT_PRIVATE_KEY"] = private_key_pem
            if service == "articles":
                env[f"{prefix}JWKS_URL"] = f"{users_url}/.well-known/jwks.json"
                env[f"{prefix}USERS_URL"] = users_url
            flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
            image = built[service].ref
            migrate = podman(
                "run",
                "--rm",
                *HARDENED,
                *HOST_NET,
                *flags,
                image,
                f"newsroom-{service}",
                "migrate",
                timeout=300,
            )
            assert migrate.returncode == 0, f"{service} migrate:\n{migrate.stdout}{migrate.stderr}"
            name = f"newsroom-test-{service}-{uuid.uuid4().hex[:8]}"
            container = Container(name, [*HARDENED, *HOST_NET, *flags, image])
            started.append(container)
            container.wait_http(f"http://{LOOPBACK}:{ports[service]}/healthz")
        yield ports
    finally:
        for container in started:
            container.remove()


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_serves_against_the_real_postgres(
    services: dict[str, int], service: str
) -> None:
    base = f"http://{LOOPBACK}:{services[service]}"
    status, body, _ = http_status(f"{base}/healthz")
    assert status == 200, body
    # /readyz runs the required checks: the database answered the service's own role.
    status, body, _ = http_status(f"{base}/readyz")
    assert status == 200, body
    checks = json.loads(body)["checks"]
    required = {label: check for label, check in checks.items() if check["required"]}
    assert required, checks
    assert all(check["ok"] for check in required.values()), checks


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_imports_its_package_and_has_no_build_tools(
    built: dict[str, Built], service: str
) -> None:
    probe = (
        f"import importlib.util, shutil, newsroom_{service}; "
        f"print(newsroom_{service}.__file__); "
        f"print([t for t in {DEV_TOOLS!r} if shutil.which(t)]); "
        "print(importlib.util.find_spec('pip') is not None)"
    )
    result = podman(
        "run", "--rm", *HARDENED, "--network", "none", built[service].ref, "python", "-c", probe
    )
    assert result.returncode == 0, result.stderr
    module_file, tools, has_pip = result.stdout.splitlines()
    assert module_file.startswith("/app/.venv/lib/python3.11/site-packages/newsroom_")
    assert tools == "[]", f"build or packaging tools in the image: {tools}"
    assert has_pip == "False"
    # What runs as the image's CMD (the chart gives the same command explicitly).
    result = podman("image", "inspect", "--format", "{{json .Config}}", built[service].ref)
    config = json.loads(result.stdout)
    assert f"NEWSROOM_SERVICE={service}" in config["Env"]
    assert config["User"] == "10001:10001"


def gateway_env(listen: int, upstreams: dict[str, int]) -> dict[str, str]:
    """The variables the chart gives the gateway (charts/gateway _facts.tpl)."""
    env = {
        "GATEWAY_LISTEN": str(listen),
        "GATEWAY_WORKER_PROCESSES": "1",
        "GATEWAY_RATE_LIMIT": "100r/s",
        "GATEWAY_RATE_BURST": "100",
        "GATEWAY_AUTH_RATE_LIMIT": "60r/m",
        "GATEWAY_AUTH_RATE_BURST": "10",
        "GATEWAY_AUTH_RETRY_AFTER": "1",
        "GATEWAY_CORS_ORIGINS": '"https://app.example" 1;',
        "GATEWAY_CACHE": "off",
        "GATEWAY_TRUSTED_PROXIES": "",
    }
    for service, port in upstreams.items():
        env[f"{service.upper()}_UPSTREAM_SERVERS"] = f"server {LOOPBACK}:{port};"
    return env


def test_gateway_image_serves_its_config_in_front_of_the_service_images(
    built: dict[str, Built], services: dict[str, int]
) -> None:
    port = free_port()
    env = gateway_env(port, services)
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    container = Container(
        f"newsroom-test-gateway-{uuid.uuid4().hex[:8]}",
        [*HARDENED, *HOST_NET, *flags, built["gateway"].ref],
    )
    try:
        container.wait_http(f"http://{LOOPBACK}:{port}/healthz")
        # Its own JSON 404 for what no route serves, in the RealWorld error shape.
        status, body, headers = http_status(f"http://{LOOPBACK}:{port}/api/no-such-route")
        assert status == 404
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(body)["errors"]
        # Proxied to the articles image, and the docs page served from the image's files.
        status, body, _ = http_status(f"http://{LOOPBACK}:{port}/api/tags")
        assert status == 200, body
        assert "tags" in json.loads(body)
        status, body, _ = http_status(
            f"http://{LOOPBACK}:{port}/api/docs/swagger-ui/swagger-ui-bundle.js"
        )
        assert status == 200
        assert len(body) > 100_000
    finally:
        container.remove()


def test_gateway_image_names_a_missing_setting_and_does_not_start(built: dict[str, Built]) -> None:
    env = gateway_env(free_port(), {"users": 1, "articles": 2})  # no views upstream
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    result = podman("run", "--rm", *HARDENED, *HOST_NET, *flags, built["gateway"].ref)
    assert result.returncode != 0
    assert "no value for: VIEWS_UPSTREAM_SERVERS" in result.stderr


def test_gateway_and_exporter_images_serve_nginx_metrics(built: dict[str, Built]) -> None:
    """The gateway pod's two containers as the chart runs them: nginx with its stub_status on
    the loopback (GATEWAY_STATUS_LISTEN) and the exporter image turning it into nginx_*."""
    port, status_port, metrics_port = free_port(), free_port(), free_port()
    env = gateway_env(port, {s: free_port() for s in SERVICES})
    env["GATEWAY_STATUS_LISTEN"] = f"{LOOPBACK}:{status_port}"
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    suffix = uuid.uuid4().hex[:8]
    gateway = Container(
        f"newsroom-test-gateway-status-{suffix}",
        [*HARDENED, *HOST_NET, *flags, built["gateway"].ref],
    )
    exporter = None
    try:
        gateway.wait_http(f"http://{LOOPBACK}:{port}/healthz")
        exporter = Container(
            f"newsroom-test-exporter-{suffix}",
            [
                *HARDENED,
                *HOST_NET,
                built["nginx-prometheus-exporter"].ref,
                f"--nginx.scrape-uri=http://{LOOPBACK}:{status_port}/stub_status",
                f"--web.listen-address={LOOPBACK}:{metrics_port}",
            ],
        )
        exporter.wait_http(f"http://{LOOPBACK}:{metrics_port}/metrics")
        status, body, _ = http_status(f"http://{LOOPBACK}:{metrics_port}/metrics")
        text = body.decode()
        assert status == 200
        assert "\nnginx_up 1\n" in text, text
        assert "\nnginx_http_requests_total " in text
        assert "\nnginx_connections_active " in text
    finally:
        if exporter is not None:
            exporter.remove()
        gateway.remove()


def test_postgres_image_initialises_its_volume_and_runs_the_init_scripts(
    built: dict[str, Built], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    init = tmp_path / "init"
    data.mkdir()
    init.mkdir()
    os.chown(data, 10001, 10001)
    (init / "10-db.sql").write_text("CREATE DATABASE newsroom_check;\n")
    port = free_port()
    container = Container(
        f"newsroom-test-postgres-{uuid.uuid4().hex[:8]}",
        [
            *HARDENED, *HOST_NET,
            "-v", f"{data}:/var/lib/postgresql/data",
            "-v", f"{init}:/docker-entrypoint-initdb.d:ro",
            "-e", "POSTGRES_PASSWORD=secret-for-the-test",
            "-e", "PGDATA=/var/lib/postgresql/data/pgdata",
            built["postgres"].ref,
            "postgres", "-c", f"port={port}", "-c", f"listen_addresses={LOOPBACK}",
        ],
    )  # fmt: skip
    try:
        import psycopg2

        deadline = time.monotonic() + 90
        while True:
            try:
                conn = psycopg2.connect(
                    host=LOOPBACK, port=port, user="postgres", password="secret-for-the-test",
                    dbname="newsroom_check", connect_timeout=3,
                )  # fmt: skip
                break
            except psycopg2.OperationalError as error:
                if not container.running() or time.monotonic() > deadline:
                    pytest.fail(
                        f"PostgreSQL of the image not on {port}: {error}\n{container.logs()}"
                    )
                time.sleep(0.5)
        with conn, conn.cursor() as cur:
            cur.execute("SHOW server_version")
            (version,) = cur.fetchone()
        conn.close()
        assert version.startswith("15.")
        assert (data / "pgdata" / "PG_VERSION").read_text().strip() == "15"
    finally:
        container.remove()


def test_kafka_image_formats_its_volume_and_serves(built: dict[str, Built], tmp_path: Path) -> None:
    from newsroom_devstack.kafka import broker_answers, random_cluster_id

    data = tmp_path / "kafka"
    data.mkdir()
    os.chown(data, 10001, 10001)
    port, controller = free_port(), free_port()
    env = {
        "CLUSTER_ID": random_cluster_id(),
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{LOOPBACK}:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@{LOOPBACK}:{controller}",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_HEAP_OPTS": "-Xms128m -Xmx384m",
    }
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    container = Container(
        f"newsroom-test-kafka-{uuid.uuid4().hex[:8]}",
        [*HARDENED, *HOST_NET, "-v", f"{data}:/var/lib/kafka/data", *flags, built["kafka"].ref],
    )
    try:
        deadline = time.monotonic() + 120
        while not broker_answers(f"{LOOPBACK}:{port}"):
            if not container.running() or time.monotonic() > deadline:
                pytest.fail(f"Kafka of the image not answering on {port}:\n{container.logs()}")
            time.sleep(1)
        assert (data / "meta.properties").is_file()
    finally:
        container.remove()


EXPECTED_PACKAGES = {
    "base": {"python3.11", "ca-certificates", "passwd"},
    "base-nginx": {"nginx", "curl"},
    "users": {"flask", "gunicorn", "sqlalchemy", "python3.11"},
    "articles": {"flask", "gunicorn", "sqlalchemy"},
    "views": {"flask", "gunicorn", "sqlalchemy"},
    "gateway": {"nginx", "gettext-base"},
    "postgres": {"postgresql-15"},
    "kafka": {"openjdk-17-jre-headless", "kafka_2.13"},
    "nginx-prometheus-exporter": {"github.com/nginx/nginx-prometheus-exporter"},
}


@pytest.mark.parametrize("name", NAMES)
def test_each_image_has_an_sbom_and_oci_labels(built: dict[str, Built], name: str) -> None:
    image = built[name]
    tag = image.ref.rsplit(":", 1)[1]
    document = json.loads(image.sbom.read_text())
    assert document["spdxVersion"].startswith("SPDX-")
    assert document["name"] == f"newsroom/{name}"
    packages = {p["name"].lower() for p in document["packages"]}
    assert EXPECTED_PACKAGES[name] <= packages, EXPECTED_PACKAGES[name] - packages
    labels = containers.image_labels(image.ref)
    # The commit the image was built at: HEAD or an ancestor (an image whose inputs did not
    # change since is reused, label and all).
    revision = labels["org.opencontainers.image.revision"].removesuffix("-dirty")
    ancestor = subprocess.run(
        ["git", "-C", str(repo_root()), "merge-base", "--is-ancestor", revision, "HEAD"],
        capture_output=True,
        check=False,
    )
    assert ancestor.returncode == 0, f"{revision} is not a commit of this branch"
    assert labels["org.opencontainers.image.version"] == tag
    assert labels["org.opencontainers.image.title"] == f"newsroom-{name}"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert labels["org.opencontainers.image.source"]


def test_make_images_again_builds_nothing(built: dict[str, Built]) -> None:
    results = images.build(NAMES)
    assert [r.name for r in results if not r.cached] == []
    assert {r.name: r.ref for r in results} == {b.name: b.ref for b in built.values()}


def test_push_to_an_unreachable_registry_fails_and_keeps_the_images(
    built: dict[str, Built],
) -> None:
    nobody = f"{LOOPBACK}:{free_port()}"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "newsroom-images"),
            "build",
            "gateway",
            "--registry",
            nobody,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1
    assert f"the registry {nobody} does not answer" in result.stderr
    assert "nothing pushed" in result.stderr
    assert containers.image_exists(built["gateway"].ref)


def test_the_registry_takes_a_push_and_stops_by_pid(
    built: dict[str, Built], tmp_path: Path
) -> None:
    port = free_port()
    address = registry.start(port=port, root=tmp_path / "registry")
    try:
        record = registry.running(tmp_path / "registry")
        assert record is not None
        results = [r for r in images.build(["gateway"]) if r.name == "gateway"]
        images.push(results, address)
        status, body, _ = http_status(f"http://{address}/v2/newsroom/gateway/tags/list")
        assert status == 200
        tag = built["gateway"].ref.rsplit(":", 1)[1]
        assert set(json.loads(body)["tags"]) == {tag, "latest"}
    finally:
        assert registry.stop(root=tmp_path / "registry")
    assert registry.running(tmp_path / "registry") is None
    assert not registry.answers(address, timeout=1.0)


def test_an_image_from_scratch_holds_one_static_binary(tmp_path: Path) -> None:
    """What the cluster's pause, CoreDNS and metrics-server images are made with."""
    binary = gotools.ensure(gotools.REGISTRY)
    ref = containers.scratch_image(
        "test-scratch",
        [containers.ScratchFile(binary, "/registry")],
        entrypoint=["/registry"],
    )
    try:
        result = podman("run", "--rm", *HARDENED, "--network", "none", ref, "--version")
        assert result.returncode == 0, result.stderr
        assert "distribution/v3 v3.1.2" in result.stdout
        # Nothing else is in it: no shell to run.
        result = podman(
            "run",
            "--rm",
            *HARDENED,
            "--network",
            "none",
            "--entrypoint",
            "/bin/sh",
            ref,
            "-c",
            "true",
        )
        assert result.returncode != 0
    finally:
        containers.run(
            ["buildah", "rmi", "--force", ref, containers.local_ref("test-scratch", "latest")]
        )
