"""docs/kubernetes.md, tried on paper: every command in its shell blocks is recognised and
checked against what it would apply, install or reach."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml
from deploy_support import (
    CHARTS,
    REPO,
    Helm,
    by_name,
    containers,
    load_yaml_documents,
    of_kind,
    pod_spec,
)

DOC = REPO / "docs" / "kubernetes.md"


def commands() -> list[list[str]]:
    """Every command of the doc's ```bash blocks, split like a shell would."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
    return [shlex.split(line) for block in blocks for line in block.splitlines() if line.strip()]


def strip_namespace(args: list[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-n", "--namespace"):
            skip = True
        else:
            out.append(arg)
    return out


def test_the_doc_has_the_install_and_develop_steps() -> None:
    lines = [" ".join(c) for c in commands()]
    for step in (
        "kubectl -n newsroom apply -f k8s/examples/postgres.yaml",
        "kubectl -n newsroom apply -f k8s/examples/kafka.yaml",
        # --wait --timeout: a plain install returns before the pods run and hides failing ones.
        "helm upgrade --install newsroom charts/newsroom --namespace newsroom",
        "skaffold dev -m articles",
    ):
        assert any(line.startswith(step) for line in lines), step


@pytest.fixture(scope="module")
def installed(helm: Helm) -> list[dict[str, Any]]:
    """What the doc's `helm install` renders (same chart, same --set flags)."""
    (install,) = [c for c in commands() if c[:4] == ["helm", "upgrade", "--install", "newsroom"]]
    assert "--wait" in install, "the install must wait for the pods (--wait --timeout)"
    assert "--timeout" in install, "the install must bound its wait (--timeout)"
    args = strip_namespace(install[3:])
    # --wait and --timeout shape the install, not what it renders.
    timeout_at = args.index("--timeout")
    args = [
        a for i, a in enumerate(args) if a != "--wait" and i not in (timeout_at, timeout_at + 1)
    ]
    release, chart, flags = args[0], args[1], args[2:]
    flags = [f.replace("$REGISTRY", "registry.example.com/newsroom-team") for f in flags]
    objects: list[dict[str, Any]] = helm.template(REPO / chart, release=release, extra=flags)
    return objects


def applied_manifests() -> list[dict[str, Any]]:
    documents = []
    for command in commands():
        args = strip_namespace(command)
        if args[:2] == ["kubectl", "apply"]:
            documents += load_yaml_documents(REPO / args[args.index("-f") + 1])
    return documents


def created_secrets() -> dict[str, set[str]]:
    """Secret name -> keys, for the doc's `kubectl create secret generic` commands."""
    secrets: dict[str, set[str]] = {}
    for command in commands():
        args = strip_namespace(command)
        if args[:4] == ["kubectl", "create", "secret", "generic"]:
            keys = {a.split("=", 2)[1] for a in args if a.startswith("--from-file=")}
            secrets[args[4]] = keys
    return secrets


# The operator versions the doc pins (chart versions) and the releases whose CRDs
# test_operator_objects validates the examples against: they must be the same releases.
OPERATOR_CHARTS = {
    "cnpg/cloudnative-pg": ("0.23.2", "github.com/cloudnative-pg/cloudnative-pg@v1.25.1"),
    "strimzi/strimzi-kafka-operator": ("1.0.1", "Strimzi 1.0.1"),
}


def test_operators_are_pinned_to_the_releases_whose_crds_the_checks_read() -> None:
    from operator_crds import PINNED

    installs = {c[4]: c for c in commands() if c[:3] == ["helm", "upgrade", "--install"]}
    for chart, (version, release) in OPERATOR_CHARTS.items():
        command = installs[chart]
        assert command[command.index("--version") + 1] == version, chart
        assert "--wait" in command, chart
        assert "--timeout" in command, chart
        assert release in PINNED, release


def test_every_command_is_one_the_checks_understand() -> None:
    known = (
        ("export",),
        ("docker", "build"),
        ("docker", "push"),
        ("helm", "repo", "add"),
        ("helm", "upgrade", "--install", "cnpg"),
        ("helm", "upgrade", "--install", "strimzi"),
        ("kubectl", "create", "namespace"),
        ("kubectl", "apply"),
        ("kubectl", "wait"),
        ("openssl", "genpkey"),
        ("kubectl", "create", "secret", "generic"),
        ("helm", "upgrade", "--install", "newsroom"),
        ("helm", "upgrade", "newsroom"),
        ("helm", "test"),
        ("kubectl", "port-forward"),
        ("curl",),
        ("skaffold", "dev"),
        ("skaffold", "run"),
        ("skaffold", "delete"),
    )
    for command in commands():
        args = strip_namespace(command)
        assert any(tuple(args[: len(k)]) == k for k in known), f"unchecked command: {command}"


def test_docker_builds_use_the_repo_root_and_the_charts_image_names() -> None:
    for command in commands():
        if command[:2] != ["docker", "build"]:
            continue
        dockerfile = REPO / command[command.index("-f") + 1]
        assert dockerfile.is_file()
        assert command[-1] == "."
        image = command[command.index("-t") + 1].removeprefix("$REGISTRY/")
        repository, tag = image.split(":")
        chart = dockerfile.parent.name
        if dockerfile == REPO / "services" / "Dockerfile":
            # One Dockerfile for the services: the build argument names the service.
            (service,) = [a.split("=", 1)[1] for a in command if a.startswith("SERVICE=")]
            port = next(a.split("=", 1)[1] for a in command if a.startswith("PORT="))
            chart = service
            facts = (CHARTS / chart / "templates" / "_facts.tpl").read_text()
            assert f"port: {port}" in facts
        values = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
        meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
        assert repository == values["image"]["repository"]
        assert tag == meta["appVersion"]


def test_every_secret_the_install_reads_is_created_by_a_step(
    installed: list[dict[str, Any]],
) -> None:
    provided = {name: set(keys) for name, keys in created_secrets().items()}
    # CloudNativePG creates <cluster>-app with the key "uri" (among others) per Cluster.
    for cluster in applied_manifests():
        if cluster["kind"] == "Cluster":
            provided[f"{cluster['metadata']['name']}-app"] = {"uri", "username", "password"}
    needed: dict[str, set[str]] = {}
    for obj in [*of_kind(installed, "Deployment"), *of_kind(installed, "Job")]:
        for container in containers(obj):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    needed.setdefault(ref["name"], set()).add(ref["key"])
        for volume in pod_spec(obj).get("volumes", []):
            if "secret" in volume:
                keys = {item["key"] for item in volume["secret"].get("items", [])}
                needed.setdefault(volume["secret"]["secretName"], set()).update(keys)
    assert needed
    for name, keys in needed.items():
        assert name in provided, f"nothing in the doc creates Secret {name}"
        assert keys <= provided[name], f"Secret {name} lacks {keys - provided[name]}"


def test_the_example_manifests_match_the_charts_defaults(installed: list[dict[str, Any]]) -> None:
    manifests = applied_manifests()
    clusters = {d["metadata"]["name"] for d in manifests if d["kind"] == "Cluster"}
    (kafka,) = [d for d in manifests if d["kind"] == "Kafka"]
    assert {d["spec"]["replicas"] for d in manifests if d["kind"] == "KafkaNodePool"} == {3}
    config = by_name(installed, "ConfigMap")["newsroom-users-config"]["data"]
    # Strimzi names the bootstrap Service <cluster>-kafka-bootstrap; the plain listener is 9092.
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert (
        config["KAFKA_BOOTSTRAP_SERVERS"]
        == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    )
    assert listener["tls"] is False
    for policy in of_kind(installed, "NetworkPolicy"):
        for rule in policy["spec"]["egress"]:
            for peer in rule["to"]:
                labels = peer.get("podSelector", {}).get("matchLabels", {})
                if "cnpg.io/cluster" in labels:
                    assert labels["cnpg.io/cluster"] in clusters
                if "strimzi.io/cluster" in labels:
                    assert labels["strimzi.io/cluster"] == kafka["metadata"]["name"]
    for document in manifests:
        assert document["apiVersion"] in {
            "postgresql.cnpg.io/v1",
            # The only API Strimzi 1.0 serves (test_operator_objects checks its CRDs).
            "kafka.strimzi.io/v1",
        }, document["kind"]
        assert "namespace" not in document["metadata"], "applied with kubectl -n"


def test_the_secrets_manifest_has_the_charts_names_and_keys(
    installed: list[dict[str, Any]],
) -> None:
    secrets = {
        d["metadata"]["name"]: set(d["stringData"])
        for d in load_yaml_documents(REPO / "k8s" / "examples" / "secrets.yaml")
    }
    assert secrets["newsroom-users-jwt"] == created_secrets()["newsroom-users-jwt"]
    for service in ("users", "articles", "views"):
        assert secrets[f"newsroom-{service}-db-url"] == {"uri"}


# The Secrets CloudNativePG generates for each Cluster (without custom secret settings).
CNPG_SECRET_SUFFIXES = ("-app", "-superuser", "-replication", "-ca", "-server")


def test_the_secrets_manifest_never_collides_with_the_operators_secrets() -> None:
    clusters = [
        d["metadata"]["name"]
        for d in load_yaml_documents(REPO / "k8s" / "examples" / "postgres.yaml")
        if d["kind"] == "Cluster"
    ]
    generated = {cluster + suffix for cluster in clusters for suffix in CNPG_SECRET_SUFFIXES}
    names = {d["metadata"]["name"] for d in load_yaml_documents(REPO / "k8s/examples/secrets.yaml")}
    assert clusters
    assert not names & generated, f"would overwrite CloudNativePG's {sorted(names & generated)}"


def test_topics_come_from_one_mechanism(installed: list[dict[str, Any]]) -> None:
    # The doc applies Strimzi KafkaTopics, so its install must not run the topic Jobs too
    # (two owners of one topic: the Job creates it, the topic operator fights over it).
    kafka_topics = [d for d in applied_manifests() if d["kind"] == "KafkaTopic"]
    topic_jobs = [j for j in of_kind(installed, "Job") if j["metadata"]["name"].endswith("-topics")]
    assert kafka_topics
    assert not topic_jobs, [j["metadata"]["name"] for j in topic_jobs]


def test_helm_test_and_port_forward_reach_the_gateway(installed: list[dict[str, Any]]) -> None:
    services = by_name(installed, "Service")
    tests = [
        p
        for p in of_kind(installed, "Pod")
        if p["metadata"]["annotations"]["helm.sh/hook"] == "test"
    ]
    assert tests
    for command in commands():
        args = strip_namespace(command)
        if args[:2] == ["kubectl", "port-forward"]:
            kind, name = args[2].split("/")
            local, remote = args[3].split(":")
            assert kind == "svc"
            assert services[name]["spec"]["ports"][0]["port"] == int(remote)
            assert local == "8080"
        if args[:1] == ["curl"]:
            assert args[-1].startswith("http://127.0.0.1:8080/api/")


def test_the_ingress_step_renders_an_ingress(helm: Helm) -> None:
    (upgrade,) = [c for c in commands() if c[:3] == ["helm", "upgrade", "newsroom"]]
    flags = [a for a in strip_namespace(upgrade[4:]) if a != "--reuse-values"]
    objects = helm.template(REPO / upgrade[3], extra=flags)
    (ingress,) = of_kind(objects, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["rules"][0]["host"] == "newsroom.example.com"


def test_skaffold_commands_name_real_modules() -> None:
    modules = {
        d["metadata"]["name"] for d in yaml.safe_load_all((REPO / "skaffold.yaml").read_text())
    }
    for command in commands():
        if command[0] == "skaffold":
            assert command[command.index("-m") + 1] in modules


def test_the_doc_states_the_reload_variable_the_service_reads() -> None:
    text = DOC.read_text()
    assert "ARTICLES_RELOAD=1" in text
    from newsroom_articles.config import PREFIX, ArticlesSettings
    from newsroom_common.config import settings_env_names

    assert "ARTICLES_RELOAD" in settings_env_names(ArticlesSettings, prefix=PREFIX)
