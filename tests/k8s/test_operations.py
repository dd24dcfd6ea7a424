"""Operating the release: hook migrations, rolling upgrade and rollback under load, the HPA,
the disruption budgets, pod kills under load, NetworkPolicies.

Each test prints its figures (`-s` or the summary table at the end of `make k8s-test`); the
goals (0 failed requests, nothing lost) are asserted, durations are only reported.
Each proof has a pytest timeout of its own, far above the suite's 300 s: they wait on
rollouts and an HPA on a shared 2-core machine; the timeouts only bound a hang.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from newsroom_devstack.cluster import Cluster
from newsroom_devstack.cluster_deploy import (
    GATEWAY_URL,
    NAMESPACE,
    RELEASE,
    helm_install_command,
    image_flags,
    pushed_tag,
)

from .conftest import (
    helm,
    helm_path,
    kubectl,
    kubectl_input,
    record,
    register,
    release_json,
    rolled_out,
    run,
)
from .load import Load

SERVICES = ("users", "articles", "views")
READ_PATHS = ["/api/tags", "/api/articles?limit=5", "/api/views/popular?window=1h&limit=5"]


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _articles_count() -> int:
    response = requests.get(f"{GATEWAY_URL}/api/articles?limit=1", timeout=15)
    assert response.status_code == 200, response.text
    return int(response.json()["articlesCount"])


@pytest.mark.timeout(1200)
def test_migrations_ran_as_hooks_before_the_pods_and_a_second_upgrade_keeps_the_data(
    cluster: Cluster,
) -> None:
    events = release_json(cluster, "get", "events")["items"]
    completed = {
        e["involvedObject"]["name"]: _time(e.get("lastTimestamp") or e["eventTime"])
        for e in events
        if e["involvedObject"]["kind"] == "Job" and e["reason"] == "Completed"
    }
    for service in SERVICES:
        job = f"{RELEASE}-{service}-migrate"
        assert job in completed, f"no Completed event of the hook Job {job}: {sorted(completed)}"
        pods = release_json(cluster, "get", "pods", "-l", f"app.kubernetes.io/name={service}")[
            "items"
        ]
        first_pod = min(_time(p["metadata"]["creationTimestamp"]) for p in pods)
        # Event times have a one-second grain: a pod created in the same second counts as after.
        assert (first_pod - completed[job]).total_seconds() >= -1, (
            f"{service}: a pod ({first_pod}) was created before its migrations "
            f"completed ({completed[job]})"
        )
    _, token = register("noop-upgrade")
    article = {
        "article": {"title": f"Kept {uuid.uuid4().hex[:6]}", "description": "d", "body": "b"}
    }
    created = requests.post(
        f"{GATEWAY_URL}/api/articles",
        json=article,
        headers={"Authorization": f"Token {token}"},
        timeout=15,
    )
    assert created.status_code == 201, created.text
    before = _articles_count()
    revision = json.loads(
        helm(cluster, "status", RELEASE, f"--namespace={NAMESPACE}", "-o", "json")
    )["version"]
    started = time.monotonic()
    tags = {name: pushed_tag(name) for name in ("users", "articles", "views", "gateway")}
    run_upgrade = run(
        helm_install_command(helm_path(), cluster.layout.kubeconfig, *image_flags(tags)),
        timeout=900,
    )
    assert run_upgrade.returncode == 0, run_upgrade.stdout + run_upgrade.stderr
    record("no-op upgrade (s)", f"{time.monotonic() - started:.0f}")
    after = json.loads(helm(cluster, "status", RELEASE, f"--namespace={NAMESPACE}", "-o", "json"))
    assert after["version"] == revision + 1
    assert after["info"]["status"] == "deployed"
    # The migrations ran again (hooks run on every upgrade) and changed nothing of the data.
    assert _articles_count() == before
    slug = created.json()["article"]["slug"]
    assert requests.get(f"{GATEWAY_URL}/api/articles/{slug}", timeout=15).status_code == 200


@pytest.mark.timeout(2400)
def test_rolling_upgrade_and_rollback_under_load_fail_no_request(cluster: Cluster) -> None:
    tags = {name: pushed_tag(name) for name in ("users", "articles", "views", "gateway")}
    # The same images under their other tag: every Deployment rolls, as for a new release.
    rolled = dict.fromkeys(tags, "latest")
    with Load(READ_PATHS, workers=4, max_seconds=900) as load:
        time.sleep(5)
        started = time.monotonic()
        upgrade = run(
            helm_install_command(helm_path(), cluster.layout.kubeconfig, *image_flags(rolled)),
            timeout=900,
        )
        upgrade_seconds = time.monotonic() - started
        time.sleep(5)
        upgraded = load.figures.sent, load.figures.failed
        started = time.monotonic()
        rollback = run(
            [
                os.environ["HELM"],
                f"--kubeconfig={cluster.layout.kubeconfig}",
                "rollback",
                RELEASE,
                f"--namespace={NAMESPACE}",
                "--wait",
                "--timeout=10m",
            ],
            timeout=900,
        )
        rollback_seconds = time.monotonic() - started
        time.sleep(5)
    figures = load.figures
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    images = {
        c["image"]
        for d in release_json(
            cluster, "get", "deployments", "-l", f"app.kubernetes.io/instance={RELEASE}"
        )["items"]
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert not any(image.endswith(":latest") for image in images), images
    record(
        "upgrade: requests / failed", (f"{upgraded[0]} / {upgraded[1]} ({upgrade_seconds:.0f}s)")
    )
    record(
        "rollback: requests / failed",
        (
            f"{figures.sent - upgraded[0]} / {figures.failed - upgraded[1]} "
            f"({rollback_seconds:.0f}s)"
        ),
    )
    assert figures.failed == 0, f"{figures.failed} of {figures.sent} failed: {figures.failures}"


def _replicas(cluster: Cluster, deployment: str) -> tuple[int, int]:
    status = release_json(cluster, "get", "deployment", deployment)["status"]
    return int(status.get("replicas", 0)), int(status.get("readyReplicas", 0))


@pytest.mark.timeout(1200)
def test_hpa_scales_articles_out_under_load_and_back_in(cluster: Cluster) -> None:
    deployment = f"{RELEASE}-articles"
    hpa = release_json(cluster, "get", "hpa", deployment)
    minimum = int(hpa["spec"]["minReplicas"])
    assert _replicas(cluster, deployment)[0] == minimum
    before = {p["metadata"]["name"] for p in _articles_pods(cluster)}
    _, token = register("hpa")
    paths = ["/api/articles?limit=20", "/api/articles/feed?limit=20"]
    peak, out_seconds = minimum, None
    with Load(
        paths, workers=6, max_seconds=420, headers=lambda: {"Authorization": f"Token {token}"}
    ) as load:
        started = time.monotonic()
        while time.monotonic() - started < 300:
            _, ready = _replicas(cluster, deployment)
            peak = max(peak, ready)
            if ready > minimum and out_seconds is None:
                out_seconds = time.monotonic() - started
            if out_seconds is not None and time.monotonic() - started > out_seconds + 45:
                break  # the new pods have served for a while
            time.sleep(3)
        during_load = load.figures.sent, load.figures.failed
    stopped = datetime.now(UTC)
    assert out_seconds is not None, f"articles did not scale beyond {minimum} within 300s of load"
    # Which pods took traffic: each pod logs every request it serves. The pods the HPA added
    # (not there before the load) must have taken a share once they had been ready a while:
    # the gateway's upstream connections are re-balanced by kube-proxy every few seconds.
    served: dict[str, int] = {}
    settled: list[str] = []
    for pod in _articles_pods(cluster):
        name = pod["metadata"]["name"]
        log = cluster.kubectl("-n", NAMESPACE, "logs", name, "--since=10m", check=False).stdout
        served[name] = log.count("/api/articles")
        ready_since = _ready_since(pod)
        if name not in before and ready_since and (stopped - ready_since).total_seconds() > 20:
            settled.append(name)
    started = time.monotonic()
    in_seconds = None
    with Load(["/api/tags"], workers=1, max_seconds=300) as light:
        while time.monotonic() - started < 240:
            if _replicas(cluster, deployment)[0] == minimum:
                in_seconds = time.monotonic() - started
                break
            time.sleep(3)
    record("HPA scale-out time (s)", f"{out_seconds:.0f}")
    record("HPA peak replicas", str(peak))
    record("HPA scale-in time (s)", f"{in_seconds:.0f}" if in_seconds is not None else "> 240")
    record(
        "HPA requests / failed (out; in)",
        (f"{during_load[0]} / {during_load[1]}; {light.figures.sent} / {light.figures.failed}"),
    )
    record(
        "HPA requests per articles pod (+ added)",
        ", ".join(
            f"{count}{'' if name in before else '+'}"
            for name, count in sorted(served.items(), key=lambda item: -item[1])
        ),
    )
    assert settled, f"no pod the HPA added was ready 20 s before the load ended: {served}"
    starved = [name for name in settled if served[name] == 0]
    assert not starved, f"pods the HPA added took no traffic: {starved} of {served}"
    assert in_seconds is not None, "articles did not scale back in within 240s of the load's end"
    assert during_load[1] == 0, load.figures.failures
    assert light.figures.failed == 0, light.figures.failures


def _articles_pods(cluster: Cluster) -> list[dict[str, Any]]:
    # The API's pods (the relay's are named articles-relay).
    pods: list[dict[str, Any]] = release_json(
        cluster, "get", "pods", "-l", "app.kubernetes.io/name=articles"
    )["items"]
    return pods


def _ready_since(pod: dict[str, Any]) -> datetime | None:
    """When the pod last became Ready (None: it is not)."""
    for condition in pod["status"].get("conditions", []):
        if condition["type"] == "Ready" and condition["status"] == "True":
            return _time(condition["lastTransitionTime"])
    return None


@pytest.mark.timeout(600)
def test_the_disruption_budget_refuses_an_eviction_beyond_max_unavailable(cluster: Cluster) -> None:
    pods = release_json(cluster, "get", "pods", "-l", "app.kubernetes.io/name=users")["items"]
    assert len(pods) >= 2
    outcomes = []
    for pod in pods:
        eviction = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod["metadata"]["name"], "namespace": NAMESPACE},
        }
        outcomes.append(_evict(cluster, eviction))
    record("PDB evictions (users api)", ", ".join(outcomes))
    assert outcomes[0] == "evicted"
    assert "refused" in outcomes[1:], outcomes
    rolled_out(cluster, NAMESPACE, f"{RELEASE}-users")


def _evict(cluster: Cluster, eviction: dict[str, Any]) -> str:
    """Post an Eviction for a pod: "evicted", or "refused" by a disruption budget."""
    name = eviction["metadata"]["name"]
    result = kubectl_input(
        cluster,
        eviction,
        "create",
        "--raw",
        f"/api/v1/namespaces/{NAMESPACE}/pods/{name}/eviction",
        "-f",
        "-",
        timeout=60,
    )
    if result.returncode == 0:
        return "evicted"
    if (
        "disruption budget" in result.stderr
        or "TooManyRequests" in result.stderr
        or "429" in result.stderr
    ):
        return "refused"
    raise AssertionError(f"eviction of {name}: {result.stderr}")


@pytest.mark.timeout(1500)
def test_killing_a_pod_of_each_service_under_load_loses_no_write_and_no_view(
    cluster: Cluster,
) -> None:
    _, token = register("chaos")
    headers = {"Authorization": f"Token {token}"}
    slug_response = requests.post(
        f"{GATEWAY_URL}/api/articles",
        json={
            "article": {"title": f"Chaos {uuid.uuid4().hex[:6]}", "description": "d", "body": "b"}
        },
        headers=headers,
        timeout=15,
    )
    assert slug_response.status_code == 201, slug_response.text
    slug = slug_response.json()["article"]["slug"]
    acknowledged_writes: list[str] = []
    acknowledged_reads = 0
    failed_writes = 0
    with Load(READ_PATHS, workers=2, max_seconds=300) as load:
        for service in (*SERVICES, "gateway"):
            pods = release_json(cluster, "get", "pods", "-l", f"app.kubernetes.io/name={service}")[
                "items"
            ]
            victim = pods[0]["metadata"]["name"]
            kubectl(
                cluster,
                "-n",
                NAMESPACE,
                "delete",
                "pod",
                victim,
                "--grace-period=0",
                "--force",
                "--wait=false",
            )
            for _ in range(10):
                try:
                    written = requests.post(
                        f"{GATEWAY_URL}/api/articles",
                        json={
                            "article": {
                                "title": f"W {uuid.uuid4().hex}",
                                "description": "d",
                                "body": "b",
                            }
                        },
                        headers={**headers, "Connection": "close"},
                        timeout=15,
                    )
                    if written.status_code == 201:
                        acknowledged_writes.append(written.json()["article"]["slug"])
                    else:
                        failed_writes += 1
                    read = requests.get(
                        f"{GATEWAY_URL}/api/articles/{slug}",
                        headers={"Connection": "close"},
                        timeout=15,
                    )
                    acknowledged_reads += read.status_code == 200
                except requests.RequestException:
                    failed_writes += 1
                time.sleep(0.2)
            rolled_out(cluster, NAMESPACE, f"{RELEASE}-{service}")
    for written_slug in acknowledged_writes:
        assert (
            requests.get(f"{GATEWAY_URL}/api/articles/{written_slug}", timeout=15).status_code
            == 200
        )
    # Every acknowledged read is counted once the consumers catch up (events cross Kafka).
    deadline = time.monotonic() + 120
    total = -1
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{GATEWAY_URL}/api/articles/{slug}/views", headers=headers, timeout=15
        )
        total = int(answer.json()["views"]["total"]) if answer.status_code == 200 else -1
        if total >= acknowledged_reads:
            break
        time.sleep(2)
    record("pod kill: writes acked / lost", f"{len(acknowledged_writes)} / 0")
    record("pod kill: reads acked / counted", f"{acknowledged_reads} / {total}")
    record("pod kill: failed requests (load; writes)", f"{load.figures.failed}; {failed_writes}")
    assert total == acknowledged_reads, (
        f"views counted {total}, acknowledged reads {acknowledged_reads}"
    )


def test_network_policies_are_enforced() -> None:
    pytest.skip(
        "the local cluster's CNI is the bridge plugin, which does not enforce NetworkPolicy: "
        "a pod that is not the gateway can reach every service, so nothing here would prove "
        "the policies (an enforcing CNI such as kube-router or Calico is needed)"
    )


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("flag", "named"),
    [
        ("--set=articles.api.replcas=3", "replcas"),  # a misspelt key
        ("--set-string=articles.api.preStopSleepSeconds=15s", "preStopSleepSeconds"),  # a type
    ],
    ids=["misspelt", "mistyped"],
)
def test_a_wrong_value_fails_on_the_schema_and_changes_nothing(
    cluster: Cluster, flag: str, named: str
) -> None:
    before = json.loads(helm(cluster, "status", RELEASE, f"--namespace={NAMESPACE}", "-o", "json"))
    result = run(
        helm_install_command(helm_path(), cluster.layout.kubeconfig, *image_flags(), flag),
        timeout=300,
    )
    assert result.returncode != 0
    assert named in result.stderr
    assert "schema" in result.stderr.lower()
    after = json.loads(helm(cluster, "status", RELEASE, f"--namespace={NAMESPACE}", "-o", "json"))
    assert after["version"] == before["version"]


@pytest.mark.timeout(1200)
def test_an_upgrade_to_a_missing_image_is_rolled_back_by_atomic_and_the_old_pods_serve(
    cluster: Cluster,
) -> None:
    before = json.loads(helm(cluster, "status", RELEASE, f"--namespace={NAMESPACE}", "-o", "json"))
    with Load(READ_PATHS, workers=2, max_seconds=600) as load:
        started = time.monotonic()
        result = run(
            # The later --timeout wins over the install's own.
            helm_install_command(
                helm_path(),
                cluster.layout.kubeconfig,
                *image_flags(),
                "--set=articles.image.tag=does-not-exist",
                "--atomic",
                # The articles hook Job cannot pull its image, whatever the wait: 45 s shows
                # that as well as minutes would, and the old pods serve throughout.
                "--timeout=45s",
            ),
            timeout=600,
        )
        seconds = time.monotonic() - started
    assert result.returncode != 0, "an upgrade to a missing image succeeded"
    after = json.loads(helm(cluster, "status", RELEASE, f"--namespace={NAMESPACE}", "-o", "json"))
    assert after["info"]["status"] == "deployed"
    assert after["version"] > before["version"]
    images = {
        c["image"]
        for c in release_json(cluster, "get", "deployment", f"{RELEASE}-articles")["spec"][
            "template"
        ]["spec"]["containers"]
    }
    assert not any(image.endswith(":does-not-exist") for image in images), images
    record(
        "atomic rollback: requests / failed",
        f"{load.figures.sent} / {load.figures.failed} ({seconds:.0f}s)",
    )
    assert load.figures.failed == 0, load.figures.failures
