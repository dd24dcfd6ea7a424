"""The platform as `make deploy` installed it: the gateway on :30080, HPAs with live CPU figures,
and the gateway's answer when a service has no ready pod."""

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


def _ready_endpoints(cluster: Cluster, service: str) -> list[str]:
    return kubectl(
        cluster,
        "-n",
        NAMESPACE,
        "get",
        "endpointslices",
        "-l",
        f"kubernetes.io/service-name={service}",
        "-o",
        "jsonpath={.items[*].endpoints[*].conditions.ready}",
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
        while "true" in _ready_endpoints(cluster, deployment):
            assert time.monotonic() < deadline, f"{deployment} still has ready endpoints after 180s"
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
