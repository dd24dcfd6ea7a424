"""The platform as `make deploy` installed it: the gateway on :30080, HPAs with live CPU figures."""

from __future__ import annotations

import json
import time

import requests

from newsroom_devstack.cluster import Cluster
from newsroom_devstack.cluster_deploy import GATEWAY_URL, NAMESPACE

from .conftest import kubectl


def test_the_gateway_answers_on_the_loopback_node_port() -> None:
    response = requests.get(f"{GATEWAY_URL}/api/tags", timeout=10)
    assert response.status_code == 200
    assert "tags" in response.json()


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
