"""What a platform team sets instead of forking the charts (issue 18), rendered and
asserted: KEDA adopting the HPA, fixed relays, JWT key rotation, client addresses behind
proxies, the PgBouncer path, and the per-workload and global knobs."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_support import CHARTS, REPO, Helm, by_name, containers, is_hook, of_kind, pod_spec

Objects = list[dict[str, Any]]

RELAYS = ("newsroom-users-relay", "newsroom-articles-relay")


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


# Item 3: KEDA.


def test_keda_renders_no_hpa_and_adopts_the_one_an_upgrade_leaves(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["keda-on"]
    hpas = by_name(objects, "HorizontalPodAutoscaler")
    for name, scaled in by_name(objects, "ScaledObject").items():
        assert name not in hpas, f"{name}: an HPA beside its ScaledObject"
        annotations = scaled["metadata"]["annotations"]
        assert annotations["scaledobject.keda.sh/transfer-hpa-ownership"] == "true"
        # The name of the HPA the previous (HPA) release made: KEDA takes it over.
        config = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]
        assert config["name"] == name
        assert name in by_name(rendered["defaults"], "HorizontalPodAutoscaler")


# Item 5: relays.


@pytest.mark.parametrize("value_set", ["defaults", "keda-on", "autoscaling-off"])
def test_relays_are_a_fixed_pair_with_a_pdb_and_no_hpa(
    rendered: dict[str, Objects], value_set: str
) -> None:
    objects = rendered[value_set]
    hpas = by_name(objects, "HorizontalPodAutoscaler")
    pdbs = by_name(objects, "PodDisruptionBudget")
    deployments = by_name(objects, "Deployment")
    for relay in RELAYS:
        assert deployments[relay]["spec"]["replicas"] == 2
        assert relay not in hpas
        assert pdbs[relay]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"users": {"relay": {"autoscaling": {"enabled": True}}}}, "autoscaling"),
        ({"articles": {"relay": {"replicas": 4}}}, "replicas"),
    ],
)
def test_relays_refuse_an_hpa_or_a_crowd(helm: Helm, values: dict[str, Any], message: str) -> None:
    error = helm.template_fails(CHARTS / "newsroom", values=values)
    assert message in error


# Item 4: JWT rotation.


def test_previous_jwt_keys_are_mounted_into_the_api_only(rendered: dict[str, Objects]) -> None:
    objects = rendered["platform-knobs"]
    deployments = by_name(objects, "Deployment")
    api = deployments["newsroom-users"]
    volumes = {v["name"]: v for v in pod_spec(api)["volumes"]}
    sources = volumes["jwt-previous-keys"]["projected"]["sources"]
    assert sources == [
        {
            "secret": {
                "name": "newsroom-users-jwt-2025",
                "items": [{"key": "public-key.pem", "path": "00-newsroom-users-jwt-2025.pem"}],
            }
        }
    ]
    (container,) = [c for c in containers(api) if c["name"] == "api"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config = by_name(objects, "ConfigMap")["newsroom-users-config"]["data"]
    assert config["USERS_JWT_PREVIOUS_PUBLIC_KEYS_FILE"] == mounts["jwt-previous-keys"]
    relay = deployments["newsroom-users-relay"]
    assert "jwt-previous-keys" not in {v["name"] for v in pod_spec(relay)["volumes"]}
    # Without previous keys nothing is mounted and the service is told of none.
    defaults = by_name(rendered["defaults"], "ConfigMap")["newsroom-users-config"]["data"]
    assert "USERS_JWT_PREVIOUS_PUBLIC_KEYS_FILE" not in defaults


# Item 1: client addresses behind proxies.


@pytest.mark.parametrize(
    "exposure",
    [
        {"ingress": {"enabled": True}},
        {"httpRoute": {"enabled": True, "parentRefs": [{"name": "public"}]}},
    ],
)
def test_an_exposed_gateway_must_name_its_trusted_proxies(
    helm: Helm, exposure: dict[str, Any]
) -> None:
    error = helm.template_fails(CHARTS / "gateway", values=exposure)
    assert "needs trustedProxies" in error
    assert next(iter(exposure)) + ".enabled" in error


def test_trusted_proxies_reach_nginx_and_the_lb_keeps_client_addresses(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["platform-knobs"]
    config = by_name(objects, "ConfigMap")["newsroom-gateway-config"]["data"]
    assert config["GATEWAY_TRUSTED_PROXIES"] == "set_real_ip_from 10.244.0.0/16;"
    service = by_name(objects, "Service")["newsroom-gateway"]["spec"]
    assert (service["type"], service["externalTrafficPolicy"]) == ("LoadBalancer", "Local")
    assert (
        "externalTrafficPolicy"
        not in by_name(rendered["defaults"], "Service")["newsroom-gateway"]["spec"]
    )


def test_external_traffic_policy_needs_an_external_service(helm: Helm) -> None:
    error = helm.template_fails(
        CHARTS / "gateway", values={"service": {"externalTrafficPolicy": "Local"}}
    )
    assert "LoadBalancer and NodePort Services only" in error


def test_an_httproute_sits_beside_the_ingress(rendered: dict[str, Objects]) -> None:
    (route,) = of_kind(rendered["platform-knobs"], "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    spec = route["spec"]
    assert spec["parentRefs"] == [{"name": "public", "namespace": "gateway-system"}]
    assert spec["hostnames"] == ["newsroom.example.com"]
    (rule,) = spec["rules"]
    assert rule["backendRefs"] == [{"name": "newsroom-gateway", "port": 8080}]
    assert not of_kind(rendered["defaults"], "HTTPRoute")


# Item 2: the PgBouncer path.


def test_the_pooler_serves_what_transaction_pooling_allows_and_the_rest_goes_direct(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["platform-knobs"]
    deployments = by_name(objects, "Deployment")
    for name in ("newsroom-articles-consumer", "newsroom-users"):
        (container, *_) = containers(deployments[name])
        env = env_of(container)
        prefix = name.split("-")[1].upper()
        url = env[f"{prefix}_DATABASE_URL"]["value"]
        host = f"newsroom-{prefix.lower()}-db-pooler-rw"
        assert url == (
            "postgresql://$(NEWSROOM_POOLER_DB_USER):$(NEWSROOM_POOLER_DB_PASSWORD)"
            f"@{host}:5432/$(NEWSROOM_POOLER_DB_NAME)"
        )
        # Kubernetes expands $(VAR) only from variables defined before it.
        names = [e["name"] for e in container["env"]]
        for part in ("USER", "PASSWORD", "NAME"):
            assert names.index(f"NEWSROOM_POOLER_DB_{part}") < names.index(f"{prefix}_DATABASE_URL")
            ref = env[f"NEWSROOM_POOLER_DB_{part}"]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == f"newsroom-{prefix.lower()}-db-app"
        policy = by_name(objects, "NetworkPolicy")[name]["spec"]
        peers = [peer for rule in policy["egress"] for peer in rule["to"]]
        assert {"podSelector": {"matchLabels": {"cnpg.io/poolerName": host}}} in peers
    # The relays LISTEN, the articles API PREPAREs per connection, migrations run DDL.
    for name in ("newsroom-articles", "newsroom-articles-relay", "newsroom-articles-migrate"):
        obj = deployments.get(name) or by_name(objects, "Job")[name]
        (container,) = containers(obj)
        ref = env_of(container)["ARTICLES_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "newsroom-articles-db-app", "key": "uri"}
    relay_policy = by_name(objects, "NetworkPolicy")["newsroom-articles-relay"]["spec"]
    assert "cnpg.io/poolerName" not in json.dumps(relay_policy)


def test_the_example_poolers_are_transaction_mode_and_named_as_the_charts_expect() -> None:
    poolers = [d for d in yaml.safe_load_all((REPO / "k8s/examples/pooler.yaml").read_text()) if d]
    for service in ("users", "articles", "views"):
        values = yaml.safe_load((CHARTS / service / "values.yaml").read_text())
        pooler = values["database"]["pooler"]
        (example,) = [p for p in poolers if p["metadata"]["name"] == pooler["host"]]
        assert example["apiVersion"] == "postgresql.cnpg.io/v1"
        assert example["spec"]["cluster"]["name"] == f"newsroom-{service}-db"
        assert example["spec"]["type"] == "rw"
        assert example["spec"]["pgbouncer"]["poolMode"] == "transaction"
        # The services send statement_timeout as a startup option: PgBouncer must not
        # refuse the connection for it.
        ignored = example["spec"]["pgbouncer"]["parameters"]["ignore_startup_parameters"]
        assert "options" in ignored.split(",")
        label = pooler["networkPolicyPeers"][0]["podSelector"]["matchLabels"]
        assert label == {"cnpg.io/poolerName": pooler["host"]}


# Items 10 and 11: global and per-workload knobs.


def test_global_pull_secrets_and_common_labels_reach_every_object(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["platform-knobs"]
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["team"] == "newsroom", obj["metadata"]["name"]
        assert labels["cost-center"] == "cms"
    for obj in [*of_kind(objects, "Deployment"), *of_kind(objects, "Job")]:
        assert pod_spec(obj)["imagePullSecrets"] == [{"name": "registry-credentials"}]
    # Selectors are immutable: common labels stay out of them.
    for deployment in of_kind(objects, "Deployment"):
        assert "team" not in deployment["spec"]["selector"]["matchLabels"]


def test_workload_knobs_render_where_they_belong(rendered: dict[str, Objects]) -> None:
    objects = rendered["platform-knobs"]
    deployments = by_name(objects, "Deployment")
    users = deployments["newsroom-users"]
    assert users["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    assert users["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape-slow"] == (
        "true"
    )
    assert pod_spec(users)["priorityClassName"] == "newsroom-critical"
    (api,) = containers(users)
    assert api["livenessProbe"]["timeoutSeconds"] == 5
    assert api["livenessProbe"]["failureThreshold"] == 6
    assert api["livenessProbe"]["periodSeconds"] == 10
    # An API's liveness is on gunicorn's master listener (test_probes.py).
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    consumer = deployments["newsroom-views-consumer"]
    assert {"name": "ca", "configMap": {"name": "corporate-ca"}} in pod_spec(consumer)["volumes"]
    (container,) = containers(consumer)
    assert {"name": "ca", "mountPath": "/etc/ssl/corporate", "readOnly": True} in container[
        "volumeMounts"
    ]
    # One named ServiceAccount for the views chart's workloads, created once.
    accounts = by_name(objects, "ServiceAccount")
    assert "newsroom-views" in accounts
    assert "newsroom-views-consumer" not in accounts
    for name in ("newsroom-views", "newsroom-views-consumer"):
        assert pod_spec(deployments[name])["serviceAccountName"] == "newsroom-views"
    openshift_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}}
    }
    for policy in of_kind(objects, "NetworkPolicy"):
        dns = policy["spec"]["egress"][0]
        assert {p["port"] for p in dns["ports"]} == {5353}, policy["metadata"]["name"]
        assert dns["to"] == [openshift_dns], policy["metadata"]["name"]


def test_hook_jobs_honour_scheduling_env_and_annotations(rendered: dict[str, Objects]) -> None:
    jobs = by_name(rendered["platform-knobs"], "Job")
    for name in ("newsroom-articles-migrate", "newsroom-articles-topics"):
        job = jobs[name]
        spec = pod_spec(job)
        assert spec["nodeSelector"] == {"node-role.example.com/batch": "true"}
        assert spec["tolerations"][0]["key"] == "batch"
        annotations = job["spec"]["template"]["metadata"]["annotations"]
        assert annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
        (container,) = containers(job)
        assert env_of(container)["ARTICLES_DB_STATEMENT_TIMEOUT_MS"]["value"] == "600000"
        assert container["resources"] == {
            "requests": {"cpu": "50m", "memory": "96Mi"},
            "limits": {"cpu": "1", "memory": "192Mi"},
        }
        assert is_hook(job)


def test_sidecars_and_init_containers_join_the_pod(helm: Helm) -> None:
    sidecar = {
        "name": "proxy",
        "image": "registry.example.com/proxy:1.0",
        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
    }
    init = {"name": "wait", "image": "registry.example.com/wait:1.0"}
    objects = helm.template(
        CHARTS / "views",
        values={"api": {"sidecars": [sidecar], "initContainers": [init]}},
    )
    api = by_name(objects, "Deployment")["newsroom-views"]
    spec = pod_spec(api)
    assert [c["name"] for c in spec["containers"]] == ["api", "proxy"]
    assert spec["initContainers"] == [init]
    kubernetes_validate.validate(api, "1.30", strict=True)


def test_openshift_restricted_scc_by_nulling_the_fixed_ids(helm: Helm) -> None:
    nulls = {"runAsUser": None, "runAsGroup": None}
    objects = helm.template(
        CHARTS / "newsroom",
        values={
            chart: {
                "podSecurityContext": {**nulls, "fsGroup": None},
                "containerSecurityContext": nulls,
            }
            for chart in ("users", "articles", "views", "gateway")
        },
    )
    workloads = [
        *of_kind(objects, "Deployment"),
        *of_kind(objects, "Job"),
        *of_kind(objects, "Pod"),
    ]
    assert workloads
    for obj in workloads:
        pod = pod_spec(obj)["securityContext"]
        assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(pod), obj["metadata"]["name"]
        assert pod["runAsNonRoot"] is True
        for container in containers(obj):
            context = container["securityContext"]
            assert not {"runAsUser", "runAsGroup"} & set(context)
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["readOnlyRootFilesystem"] is True


def test_a_workload_security_context_merges_over_the_charts(helm: Helm) -> None:
    objects = helm.template(
        CHARTS / "users", values={"api": {"podSecurityContext": {"runAsUser": 20000}}}
    )
    deployments = by_name(objects, "Deployment")
    assert pod_spec(deployments["newsroom-users"])["securityContext"]["runAsUser"] == 20000
    assert pod_spec(deployments["newsroom-users"])["securityContext"]["fsGroup"] == 10001
    assert pod_spec(deployments["newsroom-users-relay"])["securityContext"]["runAsUser"] == 10001


def test_service_accounts_can_be_brought_by_the_platform(helm: Helm) -> None:
    objects = helm.template(
        CHARTS / "articles", values={"serviceAccount": {"create": False, "name": "workload-id"}}
    )
    assert not [a for a in of_kind(objects, "ServiceAccount") if not is_hook(a)]
    for deployment in of_kind(objects, "Deployment"):
        assert pod_spec(deployment)["serviceAccountName"] == "workload-id"


# Item 12.


@pytest.mark.parametrize("value_set", ["defaults", "platform-knobs"])
def test_pdbs_let_unhealthy_pods_be_evicted(rendered: dict[str, Objects], value_set: str) -> None:
    pdbs = of_kind(rendered[value_set], "PodDisruptionBudget")
    assert pdbs
    for pdb in pdbs:
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_every_chart_states_the_kubernetes_it_needs() -> None:
    for chart in ("newsroom-lib", "users", "articles", "views", "gateway", "newsroom"):
        meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
        # unhealthyPodEvictionPolicy and topology spread's matchLabelKeys: 1.27.
        assert meta["kubeVersion"] == ">=1.27.0-0", chart


def test_alerts_cover_errors_latency_lag_outbox_and_dead_letters(
    rendered: dict[str, Objects],
) -> None:
    from test_monitoring import exported_series

    assert not of_kind(rendered["defaults"], "PrometheusRule")
    (rule,) = of_kind(rendered["platform-knobs"], "PrometheusRule")
    alerts = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {
        "NewsroomHighErrorRate",
        "NewsroomHighLatency",
        "NewsroomConsumerLag",
        "NewsroomOutboxStuck",
        "NewsroomDeadLetters",
    }
    known = exported_series()
    for name, expr in alerts.items():
        named = {
            word
            for word in expr.replace("(", " ").replace("{", " ").split()
            if word.startswith("newsroom_")
        }
        assert named, name
        assert named <= known, f"{name}: {sorted(named - known)}"
        assert 'namespace="newsroom"' in expr


# Bad input: each new value has a type and bounds, and helm says which value is wrong.


@pytest.mark.parametrize(
    ("chart", "values", "path"),
    [
        ("users", {"api": {"priorityClassName": 5}}, "priorityClassName"),
        ("users", {"api": {"livenessProbe": {"timeoutSeconds": 0}}}, "timeoutSeconds"),
        ("gateway", {"preStopSleepSeconds": -1}, "preStopSleepSeconds"),
        ("articles", {"api": {"preStopSleepSeconds": "15s"}}, "preStopSleepSeconds"),
        ("users", {"api": {"podLabels": {"team": 1}}}, "team"),
        ("users", {"jwt": {"previousKeys": [{"existingSecretKey": "k"}]}}, "existingSecret"),
        ("users", {"database": {"pooler": {"enabled": "yes"}}}, "enabled"),
        ("articles", {"migrations": {"tolerations": {"key": "x"}}}, "tolerations"),
        ("views", {"serviceAccount": {"create": "no"}}, "create"),
        ("views", {"global": {"networkPolicy": {"dnsPort": 70000}}}, "dnsPort"),
        ("gateway", {"service": {"externalTrafficPolicy": "local"}}, "externalTrafficPolicy"),
        ("gateway", {"global": {"imagePullSecrets": ["regcred"]}}, "imagePullSecrets"),
        ("newsroom", {"prometheusRule": {"errorRatio": 5}}, "errorRatio"),
    ],
)
def test_a_wrong_type_fails_with_the_schemas_message(
    helm: Helm, chart: str, values: dict[str, Any], path: str
) -> None:
    error = helm.template_fails(CHARTS / chart, values=values)
    assert "values don't meet the specifications of the schema" in error
    assert path in error


def test_the_local_cluster_values_render_valid_kubernetes(helm: Helm) -> None:
    # `make deploy` installs the umbrella chart with these values (newsroom_devstack.
    # cluster_deploy): they must pass the schemas (relays without autoscaling) and render.
    objects = helm.template(
        CHARTS / "newsroom", values_files=[REPO / "k8s" / "dev" / "values" / "local-cluster.yaml"]
    )
    relays = [by_name(objects, "Deployment")[name] for name in RELAYS]
    assert [r["spec"]["replicas"] for r in relays] == [1, 1]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30", strict=True)
