"""The platform as `make deploy` installed it: the gateway on :30080, HPAs with live CPU figures,
the gateway's answer when a service has no ready pod, and its metrics exporter."""

from __future__ import annotations

import json
import time

import pytest
import requests

from newsroom_devstack.cluster import Cluster
from newsroom_devstack.cluster_deploy import GATEWAY_URL, NAMESPACE, RELEASE

from .conftest import kubectl, record, rolled_out


def test_the_gateway_answers_on_the_loopback_node_port() -> None:
    response = requests.get(f"{GATEWAY_URL}/api/tags", timeout=10)
    assert response.status_code == 200
    assert "tags" in response.json()


@pytest.mark.timeout(600)
def test_every_hpa_shows_a_current_cpu_figure(cluster: Cluster) -> None:
    # metrics-server scrapes every 15 s and the HPA controller syncs every 15 s: a figure
    # appears within a few periods of the pods starting.
    deadline = time.monotonic() + 180
    missing: list[str] = []
    while time.monotonic() < deadline:
        hpas = json.loads(kubectl(cluster, "-n", NAMESPACE, "get", "hpa", "-o", "json"))["items"]
        assert hpas, "no HorizontalPodAutoscaler in the release"
        missing = [
            hpa["metadata"]["name"]
            for hpa in hpas
            if not any(
                metric.get("resource", {}).get("name") == "cpu"
                and metric["resource"]["current"].get("averageUtilization") is not None
                for metric in hpa.get("status", {}).get("currentMetrics") or []
            )
        ]
        if not missing:
            return
        time.sleep(5)
    raise AssertionError(f"HPAs still without a current CPU value after 180s: {missing}")


def _endpoints(cluster: Cluster, service: str) -> list[str]:
    """The addresses in the Service's EndpointSlices: ready, or terminating and still serving."""
    return kubectl(
        cluster,
        "-n",
        NAMESPACE,
        "get",
        "endpointslices",
        "-l",
        f"kubernetes.io/service-name={service}",
        "-o",
        "jsonpath={.items[*].endpoints[*].addresses[0]}",
    ).split()


@pytest.mark.timeout(600)
def test_a_service_with_no_ready_pod_is_a_json_503_with_retry_after(cluster: Cluster) -> None:
    # The views API scaled to zero (an HPA leaves a target scaled to zero alone): its Service
    # has no endpoint, kube-proxy refuses the gateway's connections, and the gateway must say
    # "come back shortly" in the API's shape, not 502.
    deployment = f"{RELEASE}-views"
    url = f"{GATEWAY_URL}/api/views/popular?window=1h&limit=5"
    replicas = json.loads(
        kubectl(cluster, "-n", NAMESPACE, "get", "deployment", deployment, "-o", "json")
    )["spec"]["replicas"]
    assert requests.get(url, timeout=10).status_code == 200
    kubectl(cluster, "-n", NAMESPACE, "scale", "deployment", deployment, "--replicas=0")
    try:
        deadline = time.monotonic() + 180
        # The pods drain first (preStopSleepSeconds): terminating, they still serve, and with
        # no ready endpoint left kube-proxy still sends them connections until they stop. The
        # Service has no pod once its EndpointSlices list none.
        while _endpoints(cluster, deployment):
            assert time.monotonic() < deadline, f"{deployment} still has endpoints after 180s"
            time.sleep(1)
        # kube-proxy rewrites its rules for the empty Service a moment later, and the gateway's
        # kept-alive connections to the old pods close with them: wait for the first 503.
        seen: list[int] = []
        while not seen or seen[-1] != 503:
            assert time.monotonic() < deadline, f"no 503 within 180s of scaling to 0: {seen}"
            seen.append(requests.get(url, headers={"Connection": "close"}, timeout=10).status_code)
            time.sleep(0.5)
        answers = [requests.get(url, headers={"Connection": "close"}, timeout=10) for _ in range(5)]
        record(
            "no ready pod: status, Retry-After",
            f"{answers[0].status_code}, {answers[0].headers.get('Retry-After')}",
        )
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Content-Type"] == "application/json"
            assert answer.headers["Retry-After"] == "5"
            assert answer.json() == {"errors": {"body": ["service unavailable, retry shortly"]}}
    finally:
        kubectl(
            cluster, "-n", NAMESPACE, "scale", "deployment", deployment, f"--replicas={replicas}"
        )
        rolled_out(cluster, NAMESPACE, deployment)
    deadline = time.monotonic() + 60
    while requests.get(url, headers={"Connection": "close"}, timeout=10).status_code != 200:
        assert time.monotonic() < deadline, f"{url} did not answer 200 within 60s of scaling back"
        time.sleep(1)


def _gateway_requests(cluster: Cluster, pod: str, port: int) -> float | None:
    """nginx_http_requests_total from the exporter sidecar of one gateway pod (None: gone).

    Read through the apiserver's pod proxy (the host cannot open Services, and this is how
    any client with the API's credentials reaches a pod's port).
    """
    path = f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}:{port}/proxy/metrics"
    result = cluster.kubectl("get", "--raw", path, check=False)
    if result.returncode != 0:
        return None
    values = {
        name: float(value)
        for line in result.stdout.splitlines()
        if line and not line.startswith("#")
        for name, value in [line.rsplit(" ", 1)]
    }
    assert values.get("nginx_up") == 1, f"{pod}: the exporter does not see nginx: {values}"
    assert "nginx_http_requests_total" in values, f"{pod}: no request counter in {values}"
    return values["nginx_http_requests_total"]


def _ready_gateway_pods(cluster: Cluster) -> dict[str, int]:
    """The gateway pods that are ready and staying, with their exporter's port."""
    pods = json.loads(
        kubectl(
            cluster,
            "-n",
            NAMESPACE,
            "get",
            "pods",
            "-l",
            f"app.kubernetes.io/name=gateway,app.kubernetes.io/instance={RELEASE}",
            "-o",
            "json",
        )
    )["items"]
    ports: dict[str, int] = {}
    for pod in pods:
        ready = any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in pod["status"].get("conditions", [])
        )
        if "deletionTimestamp" in pod["metadata"] or not ready:
            continue
        # The scrape annotations name the exporter's port, which the sidecar serves.
        annotations = pod["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", annotations
        assert annotations.get("prometheus.io/path") == "/metrics", annotations
        exporter = {c["name"]: c for c in pod["spec"]["containers"]}["metrics-exporter"]
        (port,) = [p["containerPort"] for p in exporter["ports"] if p["name"] == "metrics"]
        assert annotations.get("prometheus.io/port") == str(port), annotations
        ports[pod["metadata"]["name"]] = port
    return ports


@pytest.mark.timeout(300)
def test_each_gateway_pod_exports_metrics_counting_the_requests_sent_through_the_node_port(
    cluster: Cluster,
) -> None:
    # The gateway's HPA may still be scaling in after the load of the proofs before this one:
    # a count during which a pod came or went is taken again (three tries).
    sent = 200
    tries: list[str] = []
    for _ in range(3):
        rolled_out(cluster, NAMESPACE, f"{RELEASE}-gateway")
        ports = _ready_gateway_pods(cluster)
        assert len(ports) >= 2, ports
        before = {name: _gateway_requests(cluster, name, port) for name, port in ports.items()}
        # A new connection per request: kube-proxy spreads connections, not requests.
        for _ in range(sent):
            answer = requests.get(
                f"{GATEWAY_URL}/api/tags", headers={"Connection": "close"}, timeout=10
            )
            assert answer.status_code == 200, answer.text
        after = {name: _gateway_requests(cluster, name, port) for name, port in ports.items()}
        if _ready_gateway_pods(cluster) == ports and None not in (
            *before.values(),
            *after.values(),
        ):
            break
        tries.append(f"pods changed during the count: {sorted(ports)}")
        time.sleep(10)
    else:
        raise AssertionError(f"no count with a steady set of gateway pods: {tries}")
    rises = {name: float(after[name] or 0) - float(before[name] or 0) for name in ports}
    record(
        "gateway metrics: requests sent / counted (per pod)",
        f"{sent} / {sum(rises.values()):.0f} ({', '.join(f'{v:.0f}' for v in rises.values())})",
    )
    # Probes and the exporter's own stub_status reads count too: at least what was sent.
    assert sum(rises.values()) >= sent, f"sent {sent}, the counters rose by {rises}"
    assert all(rise > 0 for rise in rises.values()), f"a gateway pod counted nothing: {rises}"
