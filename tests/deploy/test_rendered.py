"""The umbrella chart rendered with each value set: valid Kubernetes 1.30, and hardened,
autoscaled and fenced the way the platform promises."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_support import (
    CHARTS,
    NAMESPACE,
    REPO,
    VALUE_SETS,
    Helm,
    by_name,
    containers,
    is_hook,
    merge,
    of_kind,
    pod_spec,
)

Objects = list[dict[str, Any]]

KUBERNETES_VERSION = "1.30"
# Kinds from operators' CRDs, which the Kubernetes schemas do not describe; kubeconform
# validates them against the pinned CRDs (test_kubeconform.py).
CUSTOM_KINDS = {"ScaledObject", "HTTPRoute", "PrometheusRule", "ServiceMonitor", "PodMonitor"}

# Every long-running workload of the platform: Deployment name -> (app name, port).
WORKLOADS = {
    "newsroom-users": ("users", 8001),
    "newsroom-users-relay": ("users-relay", 9090),
    "newsroom-articles": ("articles", 8002),
    "newsroom-articles-relay": ("articles-relay", 9090),
    "newsroom-articles-consumer": ("articles-consumer", 9090),
    "newsroom-views": ("views", 8003),
    "newsroom-views-consumer": ("views-consumer", 9090),
    "newsroom-gateway": ("gateway", 8080),
}
# One relay works at a time (the outbox lock): fixed replicas, no HPA (test_platform_values).
RELAYS = {"newsroom-users-relay", "newsroom-articles-relay"}
SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "helm.sh/chart",
}


def deployments(objects: Objects) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = by_name(objects, "Deployment")
    return found


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_object_is_valid_kubernetes_1_30(
    rendered: dict[str, Objects], value_set: str
) -> None:
    failures = []
    for obj in rendered[value_set]:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_object_is_namespaced_and_labelled(
    rendered: dict[str, Objects], value_set: str
) -> None:
    for obj in rendered[value_set]:
        meta = obj["metadata"]
        assert meta["namespace"] == NAMESPACE, meta["name"]
        assert set(meta["labels"]) >= STANDARD_LABELS, meta["name"]
        assert meta["labels"]["app.kubernetes.io/part-of"] == "newsroom"


def test_defaults_render_every_workload(rendered: dict[str, Objects]) -> None:
    assert set(deployments(rendered["defaults"])) == set(WORKLOADS)


@pytest.mark.parametrize("value_set", ["defaults", "ingress-on"])
def test_every_workload_has_an_hpa_and_no_fixed_replicas(
    rendered: dict[str, Objects], value_set: str
) -> None:
    objects = rendered[value_set]
    hpas = by_name(objects, "HorizontalPodAutoscaler")
    for name, deployment in deployments(objects).items():
        if name in RELAYS:
            continue
        assert "replicas" not in deployment["spec"], f"{name} fights its HPA"
        hpa = hpas[name]
        assert hpa["apiVersion"] == "autoscaling/v2"
        spec = hpa["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert spec["minReplicas"] == 2
        assert spec["maxReplicas"] >= spec["minReplicas"]
        cpu = [m for m in spec["metrics"] if m["resource"]["name"] == "cpu"]
        assert cpu
        assert cpu[0]["resource"]["target"]["type"] == "Utilization"
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 60


def test_memory_target_adds_a_memory_metric(helm: Helm) -> None:
    objects = helm.template(
        CHARTS / "newsroom",
        values={"users": {"api": {"autoscaling": {"targetMemoryUtilizationPercentage": 80}}}},
    )
    hpa = by_name(objects, "HorizontalPodAutoscaler")["newsroom-users"]
    metrics = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["spec"]["metrics"]}
    assert metrics["memory"] == {"type": "Utilization", "averageUtilization": 80}


def test_autoscaling_off_fixes_replicas_and_drops_the_hpas(rendered: dict[str, Objects]) -> None:
    objects = rendered["autoscaling-off"]
    assert not of_kind(objects, "HorizontalPodAutoscaler")
    for name, deployment in deployments(objects).items():
        assert deployment["spec"]["replicas"] == 2, name


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_workload_has_a_pdb_allowing_one_disruption(
    rendered: dict[str, Objects], value_set: str
) -> None:
    objects = rendered[value_set]
    pdbs = by_name(objects, "PodDisruptionBudget")
    for name, deployment in deployments(objects).items():
        pdb = pdbs[name]["spec"]
        assert pdb["maxUnavailable"] == 1
        assert pdb["selector"] == deployment["spec"]["selector"]


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_selectors_use_only_name_and_instance(rendered: dict[str, Objects], value_set: str) -> None:
    objects = rendered[value_set]
    selectors: dict[str, dict[str, str]] = {}
    for name, deployment in deployments(objects).items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert set(selector) == SELECTOR_KEYS, name
        assert selector["app.kubernetes.io/name"] == WORKLOADS[name][0]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()
        selectors[name] = selector
    # Distinct per workload: two Deployments never claim each other's pods.
    assert len({tuple(sorted(s.items())) for s in selectors.values()}) == len(selectors)
    for service in of_kind(objects, "Service"):
        assert set(service["spec"]["selector"]) == SELECTOR_KEYS
    for pdb in of_kind(objects, "PodDisruptionBudget"):
        assert set(pdb["spec"]["selector"]["matchLabels"]) == SELECTOR_KEYS


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_container_has_requests_limits_and_probes(
    rendered: dict[str, Objects], value_set: str
) -> None:
    objects = rendered[value_set]
    for name, deployment in deployments(objects).items():
        # The workload's own container first; the gateway adds its metrics exporter.
        container, *sidecars = containers(deployment)
        assert [c["name"] for c in sidecars] == (
            ["metrics-exporter"] if name == "newsroom-gateway" else []
        )
        for each in (container, *sidecars):
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(each["resources"][kind]), f"{name} {kind}"
            assert each["livenessProbe"], name
            assert each["readinessProbe"], name
        port = container["ports"][0]
        assert (port["name"], port["containerPort"]) == ("http", WORKLOADS[name][1])
        probes = {
            k: container[k]["httpGet"] for k in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        # An API's liveness goes to gunicorn's master listener (test_probes.py).
        liveness_port = "probes" if probes["livenessProbe"]["port"] == "probes" else "http"
        assert {p["port"] for p in probes.values()} == {"http", liveness_port}
        assert (liveness_port == "probes") == (WORKLOADS[name][1] in (8001, 8002, 8003))
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert probes["startupProbe"]["path"] == "/healthz"
        # The gateway is ready when nginx answers; the services when their database and Kafka do.
        expected = "/healthz" if name == "newsroom-gateway" else "/readyz"
        assert probes["readinessProbe"]["path"] == expected
    for job in of_kind(objects, "Job") + of_kind(objects, "Pod"):
        for container in containers(job):
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), job["metadata"][
                "name"
            ]


def assert_hardened(obj: dict[str, Any]) -> None:
    spec = pod_spec(obj)
    name = obj["metadata"]["name"]
    assert spec["automountServiceAccountToken"] is False, name
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True, name
    assert pod["runAsUser"] >= 10000, name
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
    for container in containers(obj):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        assert context["runAsNonRoot"] is True, name
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        # The workload's own container writes /tmp; a sidecar (the exporter) writes nothing.
        if obj["kind"] != "Pod" and container["name"] != "metrics-exporter":
            volumes = {v["name"]: v for v in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp is not an emptyDir"


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_pod_is_hardened(rendered: dict[str, Objects], value_set: str) -> None:
    objects = rendered[value_set]
    pods = deployments(objects).values()
    for obj in [*pods, *of_kind(objects, "Job"), *of_kind(objects, "Pod")]:
        assert_hardened(obj)


def test_every_workload_runs_as_its_own_service_account(rendered: dict[str, Objects]) -> None:
    objects = rendered["defaults"]
    accounts = by_name(objects, "ServiceAccount")
    for name, deployment in deployments(objects).items():
        assert pod_spec(deployment)["serviceAccountName"] == name
        assert accounts[name]["automountServiceAccountToken"] is False
    for job in of_kind(objects, "Job"):
        account = pod_spec(job)["serviceAccountName"]
        assert account.endswith("-hooks")
        assert is_hook(accounts[account])


def test_every_workload_spreads_across_zones_and_nodes(rendered: dict[str, Objects]) -> None:
    for name, deployment in deployments(rendered["defaults"]).items():
        constraints = pod_spec(deployment)["topologySpreadConstraints"]
        keys = {c["topologyKey"] for c in constraints}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, name
        for constraint in constraints:
            assert constraint["labelSelector"] == deployment["spec"]["selector"]


def test_secrets_come_from_existing_secrets_never_from_values(rendered: dict[str, Objects]) -> None:
    objects = rendered["defaults"]
    assert not of_kind(objects, "Secret")
    for config in of_kind(objects, "ConfigMap"):
        for key, value in config["data"].items():
            assert "DATABASE_URL" not in key
            assert "PRIVATE_KEY=" not in key
            assert "postgresql://" not in value
            assert "BEGIN PRIVATE KEY" not in value
    for obj in [*deployments(objects).values(), *of_kind(objects, "Job")]:
        for container in containers(obj):
            for env in container.get("env", []):
                if env["name"].endswith("_DATABASE_URL"):
                    assert "value" not in env
                    assert env["valueFrom"]["secretKeyRef"]["name"].endswith("-db-app")
    users = deployments(objects)["newsroom-users"]
    volumes = {v["name"]: v for v in pod_spec(users)["volumes"]}
    assert volumes["jwt-signing-key"]["secret"]["secretName"] == "newsroom-users-jwt"
    # Only the API signs tokens: the relay never sees the key.
    relay = deployments(objects)["newsroom-users-relay"]
    assert "jwt-signing-key" not in {v["name"] for v in pod_spec(relay)["volumes"]}


def peers_of(rule: dict[str, Any]) -> list[str]:
    """The app names a NetworkPolicy rule's peers select (or the raw peers)."""
    names = []
    for peer in rule.get("from", rule.get("to", [])):
        labels = peer.get("podSelector", {}).get("matchLabels", {})
        names.append(labels.get("app.kubernetes.io/name") or repr(peer))
    return names


def test_network_policies_fence_every_workload(rendered: dict[str, Objects]) -> None:
    objects = rendered["defaults"]
    policies = by_name(objects, "NetworkPolicy")
    for name, deployment in deployments(objects).items():
        policy = policies[name]["spec"]
        assert policy["podSelector"] == deployment["spec"]["selector"]
        assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
        dns = policy["egress"][0]
        assert {p["port"] for p in dns["ports"]} == {53}
    ingress = {
        name: [peers_of(rule) for rule in policies[name]["spec"]["ingress"]] for name in WORKLOADS
    }
    # Only the gateway reaches the service APIs; users also admits articles (JWKS, profiles).
    # Views verifies no token: it has no business with users.
    assert ingress["newsroom-articles"] == [["gateway"]]
    assert ingress["newsroom-views"] == [["gateway"]]
    assert ingress["newsroom-users"] == [["gateway", "articles"]]
    # The gateway is the public door: one rule, on its port, from anywhere.
    (gateway_rule,) = policies["newsroom-gateway"]["spec"]["ingress"]
    assert "from" not in gateway_rule
    assert gateway_rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    for worker in (
        "newsroom-users-relay",
        "newsroom-articles-relay",
        "newsroom-articles-consumer",
        "newsroom-views-consumer",
    ):
        assert ingress[worker] == [], f"{worker} admits traffic"

    def egress_ports(name: str) -> set[int]:
        return {p["port"] for rule in policies[name]["spec"]["egress"] for p in rule["ports"]}

    assert egress_ports("newsroom-gateway") == {53, 8001, 8002, 8003}
    assert egress_ports("newsroom-users") == {53, 5432, 9092}
    assert egress_ports("newsroom-articles") == {53, 5432, 9092, 8001}
    assert egress_ports("newsroom-views") == {53, 5432, 9092}
    assert egress_ports("newsroom-views-consumer") == {53, 5432, 9092}
    # Each service reaches its own database only.
    for service in ("users", "articles", "views"):
        database = [
            rule
            for rule in policies[f"newsroom-{service}"]["spec"]["egress"]
            if rule["ports"][0]["port"] == 5432
        ]
        assert database[0]["to"] == [
            {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"newsroom-{service}-db"}}}
        ]


def test_network_policy_can_narrow_the_gateway_and_admit_prometheus(helm: Helm) -> None:
    monitoring = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    objects = helm.template(
        CHARTS / "newsroom",
        values={
            "gateway": {"networkPolicy": {"ingressFrom": [monitoring]}},
            "views": {"networkPolicy": {"extraIngress": [monitoring]}},
        },
    )
    policies = by_name(objects, "NetworkPolicy")
    assert policies["newsroom-gateway"]["spec"]["ingress"][0]["from"] == [monitoring]
    assert policies["newsroom-views-consumer"]["spec"]["ingress"][0]["from"] == [monitoring]


def test_network_policies_can_be_turned_off(helm: Helm) -> None:
    objects = helm.template(
        CHARTS / "newsroom", values={"global": {"networkPolicy": {"enabled": False}}}
    )
    assert not of_kind(objects, "NetworkPolicy")


def test_ingress_uses_the_configured_class(rendered: dict[str, Objects]) -> None:
    assert not of_kind(rendered["defaults"], "Ingress")
    (ingress,) = of_kind(rendered["ingress-on"], "Ingress")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"secretName": "newsroom-tls", "hosts": ["newsroom.example.com"]}]
    backend = spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "newsroom-gateway", "port": {"name": "http"}}


def test_keda_replaces_the_consumer_hpa_within_the_partition_count(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["keda-on"]
    hpas = by_name(objects, "HorizontalPodAutoscaler")
    scaled = by_name(objects, "ScaledObject")
    assert set(scaled) == {"newsroom-views-consumer", "newsroom-articles-consumer"}
    assert not set(scaled) & set(hpas)
    views = scaled["newsroom-views-consumer"]
    assert views["apiVersion"] == "keda.sh/v1alpha1"
    spec = views["spec"]
    assert spec["scaleTargetRef"]["name"] == "newsroom-views-consumer"
    assert spec["minReplicaCount"] == 2
    assert spec["maxReplicaCount"] <= 12
    kafka = [t for t in spec["triggers"] if t["type"] == "kafka"]
    groups = {t["metadata"]["topic"]: t["metadata"]["consumerGroup"] for t in kafka}
    assert groups == {
        "articles.views.v1": "views-ingest",
        "articles.events.v1": "views-articles-replica",
        "users.events.v1": "views-users-replica",
    }
    for trigger in kafka:
        assert trigger["metadata"]["bootstrapServers"] == "newsroom-kafka-bootstrap:9092"
        assert trigger["metadata"]["allowIdleConsumers"] == "false"
    assert (
        spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
            "stabilizationWindowSeconds"
        ]
        >= 60
    )
    assert "replicas" not in deployments(objects)["newsroom-views-consumer"]["spec"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"views": {"consumer": {"autoscaling": {"maxReplicas": 13}}}}, "12 partitions"),
        (
            {"views": {"consumer": {"autoscaling": {"enabled": False}, "replicas": 13}}},
            "12 partitions",
        ),
        ({"articles": {"consumer": {"autoscaling": {"maxReplicas": 7}}}}, "6 partitions"),
        (
            {"users": {"api": {"autoscaling": {"minReplicas": 5, "maxReplicas": 3}}}},
            "above maxReplicas",
        ),
        (
            {"views": {"consumer": {"autoscaling": {"enabled": False}, "keda": {"enabled": True}}}},
            "keda.enabled needs",
        ),
    ],
)
def test_rendering_fails_on_impossible_scaling(
    helm: Helm, values: dict[str, Any], message: str
) -> None:
    error = helm.template_fails(CHARTS / "newsroom", values=values)
    assert message in error


def test_views_consumer_may_scale_up_to_the_partition_count(helm: Helm) -> None:
    objects = helm.template(
        CHARTS / "newsroom", values={"views": {"consumer": {"autoscaling": {"maxReplicas": 12}}}}
    )
    assert (
        by_name(objects, "HorizontalPodAutoscaler")["newsroom-views-consumer"]["spec"][
            "maxReplicas"
        ]
        == 12
    )


def test_hooks_run_migrations_and_topics_before_install_and_upgrade(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["defaults"]
    jobs = by_name(objects, "Job")
    expected = {
        f"newsroom-{s}-{j}" for s in ("users", "articles", "views") for j in ("migrate", "topics")
    }
    assert set(jobs) == expected
    for name, job in jobs.items():
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
        # The hook's own SA and NetworkPolicy come first.
        assert int(annotations["helm.sh/hook-weight"]) > -20
        (container,) = containers(job)
        env = {e["name"] for e in container["env"]}
        service = name.split("-")[1]
        assert f"{service.upper()}_DATABASE_URL" in env
        assert "KAFKA_BOOTSTRAP_SERVERS" in env
    (migrate,) = containers(jobs["newsroom-articles-migrate"])
    assert migrate["command"] == ["newsroom-articles", "migrate"]
    (topics,) = containers(jobs["newsroom-views-topics"])
    assert topics["command"][:2] == ["python", "-c"]
    assert topics["command"][-1] == "newsroom_views"
    hook_policies = [p for p in of_kind(objects, "NetworkPolicy") if is_hook(p)]
    assert len(hook_policies) == 3


def test_topic_jobs_can_be_left_to_an_operator(helm: Helm) -> None:
    objects = helm.template(
        CHARTS / "newsroom", values={"global": {"kafka": {"createTopics": False}}}
    )
    assert not [j for j in of_kind(objects, "Job") if j["metadata"]["name"].endswith("-topics")]


def test_gateway_has_helm_tests_calling_healthz_and_a_round_trip(
    rendered: dict[str, Objects],
) -> None:
    pods = {p["metadata"]["name"]: p for p in of_kind(rendered["defaults"], "Pod")}
    assert set(pods) == {"newsroom-gateway-test-healthz", "newsroom-gateway-test-roundtrip"}
    assert all(p["metadata"]["annotations"]["helm.sh/hook"] == "test" for p in pods.values())
    healthz = pods["newsroom-gateway-test-healthz"]["spec"]["containers"][0]
    assert healthz["command"][-1] == "http://newsroom-gateway:8080/healthz"
    roundtrip = pods["newsroom-gateway-test-roundtrip"]["spec"]["containers"][0]
    assert {"name": "BASE", "value": "http://newsroom-gateway:8080"} in roundtrip["env"]
    script = roundtrip["command"][-1]
    for step in ("/api/users", "/api/articles", "/views"):
        assert step in script


def test_subcharts_can_be_disabled(helm: Helm) -> None:
    objects = helm.template(
        CHARTS / "newsroom", values={"gateway": {"enabled": False}, "views": {"enabled": False}}
    )
    assert set(deployments(objects)) == {
        n for n in WORKLOADS if not n.startswith(("newsroom-gateway", "newsroom-views"))
    }


def test_images_follow_registry_tag_and_digest(helm: Helm) -> None:
    digest = "sha256:" + "a" * 64
    objects = helm.template(
        CHARTS / "newsroom",
        values=merge(
            {"global": {"imageRegistry": "ghcr.io/acme"}},
            {"users": {"image": {"tag": "1.2.3", "digest": digest}}},
        ),
    )
    images = {name: next(containers(d))["image"] for name, d in deployments(objects).items()}
    assert images["newsroom-users"] == f"ghcr.io/acme/newsroom/users:1.2.3@{digest}"
    assert images["newsroom-gateway"] == "ghcr.io/acme/newsroom/gateway:0.1.0"


def test_a_platform_name_keeps_names_stable_across_releases(helm: Helm) -> None:
    # skaffold installs each service as its own release with global.platform=newsroom.
    objects = helm.template(
        CHARTS / "articles",
        release="newsroom-articles",
        values={"global": {"platform": "newsroom"}},
    )
    config = by_name(objects, "ConfigMap")["newsroom-articles-config"]["data"]
    assert config["ARTICLES_JWKS_URL"] == "http://newsroom-users:8001/.well-known/jwks.json"
    assert config["ARTICLES_USERS_URL"] == "http://newsroom-users:8001"
    assert "newsroom-articles" in deployments(objects)


def test_the_platform_names_the_follow_readers_users_waits_for(
    helm: Helm, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    # Users names no peer's consumer group: the umbrella, which installs articles beside it,
    # hands users articles' replica group, the one the devstack reads from articles' topics.
    from newsroom_articles.topics import FOLLOW_READERS

    platform = by_name(rendered["defaults"], "ConfigMap")["newsroom-users-config"]["data"]
    assert platform["USERS_FOLLOW_READERS"] == ",".join(FOLLOW_READERS)
    assert float(platform["USERS_FOLLOW_VISIBLE_TIMEOUT_SECONDS"]) == 5
    dev_values = yaml.safe_load((REPO / "k8s/dev/values/users.yaml").read_text())
    assert dev_values["followVisibility"]["readers"] == list(FOLLOW_READERS)
    # Alone, the users chart waits for nobody: no articles consumes beside it.
    alone = by_name(helm.template(CHARTS / "users"), "ConfigMap")["newsroom-users-config"]["data"]
    assert alone["USERS_FOLLOW_READERS"] == ""
    message = helm.template_fails(
        CHARTS / "users", values={"followVisibility": {"readers": ["a group!"]}}
    )
    assert "followVisibility" in message
