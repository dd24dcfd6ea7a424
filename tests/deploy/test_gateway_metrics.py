"""The gateway's metrics (issue 18, item 8): nginx's stub_status on the pod's loopback and the
official nginx-prometheus-exporter as a sidecar, which the scrape annotations point at.

Rendered manifests first; then the real thing: Debian's nginx (the gateway image's) started
with the configuration the image's entrypoint writes from the chart's ConfigMap, and the
exporter binary built from its Go module, whose /metrics must show nginx_* series that
count the requests sent through the gateway.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_support import (
    CHARTS,
    Helm,
    by_name,
    chart_gateway,
    http_get,
    pod_spec,
    stop_group,
    wait_for_http,
)
from test_monitoring import NGINX_EXPORTER_SERIES

from newsroom_devstack import gotools
from newsroom_devstack.net import LOOPBACK, free_port

PROMETHEUS_PEER = {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}


def gateway_objects(helm: Helm, **values: Any) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = helm.template(CHARTS / "gateway", values=values)
    return objects


def test_the_exporter_is_a_sidecar_the_scrape_annotations_point_at(helm: Helm) -> None:
    objects = gateway_objects(helm, networkPolicy={"extraIngress": [PROMETHEUS_PEER]})
    deployment = by_name(objects, "Deployment")["newsroom-gateway"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "9113"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["kubectl.kubernetes.io/default-container"] == "gateway"
    spec = pod_spec(deployment)
    gateway, exporter = spec["containers"]
    assert gateway["name"] == "gateway"
    assert exporter["name"] == "metrics-exporter"
    assert exporter["image"] == "newsroom/nginx-prometheus-exporter:1.5.1"
    assert "--nginx.scrape-uri=http://127.0.0.1:8081/stub_status" in exporter["args"]
    assert "--web.listen-address=:9113" in exporter["args"]
    assert exporter["ports"] == [{"name": "metrics", "containerPort": 9113, "protocol": "TCP"}]
    assert exporter["securityContext"]["readOnlyRootFilesystem"] is True
    assert exporter["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert exporter["resources"]["limits"]["memory"] == "64Mi"
    # nginx serves stub_status on the pod's loopback: no Service port, no public route.
    config = by_name(objects, "ConfigMap")["newsroom-gateway-config"]["data"]
    assert config["GATEWAY_STATUS_LISTEN"] == "127.0.0.1:8081"
    (service,) = by_name(objects, "Service").values()
    assert [p["name"] for p in service["spec"]["ports"]] == ["http"]
    # Prometheus (networkPolicy.extraIngress) may reach the exporter's port.
    policy = by_name(objects, "NetworkPolicy")["newsroom-gateway"]
    rules = [
        r for r in policy["spec"]["ingress"] if {"port": "metrics", "protocol": "TCP"} in r["ports"]
    ]
    assert rules == [{"ports": [{"port": "metrics", "protocol": "TCP"}], "from": [PROMETHEUS_PEER]}]


def test_metrics_off_means_no_exporter_and_no_scrape_annotations(helm: Helm) -> None:
    objects = gateway_objects(helm, metrics={"enabled": False})
    deployment = by_name(objects, "Deployment")["newsroom-gateway"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert not [key for key in annotations if key.startswith("prometheus.io/")]
    assert [c["name"] for c in pod_spec(deployment)["containers"]] == ["gateway"]
    config = by_name(objects, "ConfigMap")["newsroom-gateway-config"]["data"]
    assert config["GATEWAY_STATUS_LISTEN"] == ""


def test_the_pod_monitor_scrapes_the_exporter_and_needs_it(helm: Helm) -> None:
    objects = gateway_objects(helm, metrics={"serviceMonitor": {"enabled": True}})
    monitor = by_name(objects, "PodMonitor")["newsroom-gateway"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    assert not by_name(objects, "ServiceMonitor")
    error = helm.template_fails(
        CHARTS / "gateway",
        values={"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}},
    )
    assert "metrics.serviceMonitor.enabled needs the metrics it scrapes" in error


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"metrics": {"port": "9113"}}, "at '/metrics/port': got string, want integer"),
        ({"metrics": {"statusPort": 70000}}, "at '/metrics/statusPort'"),
        ({"metrics": {"enabled": "yes"}}, "at '/metrics/enabled': got string, want boolean"),
        ({"metrics": {"image": {"tag": 1.5}}}, "at '/metrics/image/tag'"),
        ({"metrics": {"exporter": {}}}, "additional properties 'exporter' not allowed"),
    ],
)
def test_wrong_metrics_values_fail_on_the_schema(
    helm: Helm, values: dict[str, Any], message: str
) -> None:
    assert message in helm.template_fails(CHARTS / "gateway", values=values)


# --- the real nginx and exporter -------------------------------------------------------------


def _series(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


@pytest.fixture
def gateway_with_exporter(helm: Helm, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """nginx with the chart's configuration (as the image's entrypoint writes it) on free
    loopback ports, and the exporter scraping its stub_status; their URLs and run folder."""
    exporter = gotools.ensure(gotools.NGINX_EXPORTER)
    status_port, metrics_port = free_port(), free_port()
    config = by_name(gateway_objects(helm), "ConfigMap")["newsroom-gateway-config"]["data"]
    # Upstreams nobody serves: the checks only need nginx itself.
    upstreams = {
        f"{service}_UPSTREAM_SERVERS": f"server {LOOPBACK}:{free_port()};"
        for service in ("USERS", "ARTICLES", "VIEWS")
    }
    with chart_gateway(
        config, tmp_path, GATEWAY_STATUS_LISTEN=f"{LOOPBACK}:{status_port}", **upstreams
    ) as (gateway, run_dir):
        sidecar = subprocess.Popen(
            [
                str(exporter),
                f"--nginx.scrape-uri=http://{LOOPBACK}:{status_port}/stub_status",
                f"--web.listen-address={LOOPBACK}:{metrics_port}",
                "--web.telemetry-path=/metrics",
            ],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            wait_for_http(f"http://{LOOPBACK}:{metrics_port}/metrics", sidecar, "the exporter")
            yield gateway, f"http://{LOOPBACK}:{metrics_port}/metrics", run_dir
        finally:
            stop_group(sidecar)


def test_the_exporter_serves_nginx_metrics_that_count_gateway_requests(
    gateway_with_exporter: tuple[str, str, Path],
) -> None:
    gateway, metrics, run_dir = gateway_with_exporter
    status_conf = (run_dir / "status.d" / "stub_status.conf").read_text()
    assert f"listen {LOOPBACK}:" in status_conf
    before = _series(http_get(metrics)[1])
    assert before["nginx_up"] == 1
    assert set(before) >= NGINX_EXPORTER_SERIES, NGINX_EXPORTER_SERIES - set(before)
    # Every nginx_* series the exporter serves about nginx is one the dashboard knows.
    served = {n for n in before if n.startswith("nginx_") and not n.startswith("nginx_exporter_")}
    assert served == NGINX_EXPORTER_SERIES
    for _ in range(20):
        assert http_get(f"{gateway}/healthz")[0] == 200
    # The public listener has no stub_status: it answers the gateway's own JSON 404.
    status, body = http_get(f"{gateway}/stub_status")
    assert status == 404
    assert '"errors"' in body
    after = _series(http_get(metrics)[1])
    # 20 health checks, the 404 and the exporter's own scrape of stub_status.
    assert after["nginx_http_requests_total"] - before["nginx_http_requests_total"] >= 21
    assert after["nginx_connections_accepted"] >= before["nginx_connections_accepted"] + 21


def test_the_exporter_says_nginx_is_down_when_it_is(
    gateway_with_exporter: tuple[str, str, Path],
) -> None:
    _, metrics, run_dir = gateway_with_exporter
    pid = int((run_dir / "nginx.pid").read_text())
    os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 30
    while _series(http_get(metrics)[1]).get("nginx_up") != 0:
        assert time.monotonic() < deadline, "nginx_up did not turn 0 within 30s of nginx stopping"
        time.sleep(0.2)
