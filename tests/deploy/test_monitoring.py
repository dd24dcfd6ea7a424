"""The Grafana dashboard and the optional Prometheus Operator monitors of the charts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from deploy_support import CHARTS, Helm
from prometheus_client import REGISTRY

# Importing these registers every metric the services export (the HTTP, pool, outbox and
# consumer metrics; the event buffer's counters).
from newsroom_common import event_buffer, metrics  # noqa: F401

# The kube-state-metrics series the dashboard reads (HPA replica counts).
KUBE_STATE_METRICS = frozenset(
    {
        "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "kube_horizontalpodautoscaler_spec_max_replicas",
    }
)
# What the gateway's nginx-prometheus-exporter sidecar serves (test_gateway_metrics.py
# checks this list against the real exporter in front of a real nginx).
NGINX_EXPORTER_SERIES = frozenset(
    {
        "nginx_up",
        "nginx_http_requests_total",
        "nginx_connections_accepted",
        "nginx_connections_handled",
        "nginx_connections_active",
        "nginx_connections_reading",
        "nginx_connections_writing",
        "nginx_connections_waiting",
    }
)
_METRIC_NAME = re.compile(r"\b((?:newsroom|kube|nginx)_[a-z0-9_]+)\b")


def exported_series() -> set[str]:
    """Every series name our processes expose (with the _total, _bucket... suffixes)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    families = list(REGISTRY.collect())
    return {
        family.name + suffix
        for family in families
        if family.name.startswith("newsroom_")
        for suffix in suffixes.get(family.type, ("",))
    }


@pytest.fixture(scope="module")
def dashboard_configmap(rendered: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The dashboard's ConfigMap in the umbrella chart's default rendering."""
    (configmap,) = [
        o
        for o in rendered["defaults"]
        if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    return configmap


def test_the_dashboard_is_valid_json_in_a_configmap_grafana_picks_up(
    dashboard_configmap: dict[str, Any],
) -> None:
    (text,) = dashboard_configmap["data"].values()
    dashboard = json.loads(text)
    assert dashboard["uid"]
    assert dashboard["title"]
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("request rate", "error", "latency", "consumer lag", "outbox", "hpa"):
        assert topic in titles
    for topic in ("gateway request rate", "gateway errors", "gateway latency"):
        assert topic in titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_query_of_the_dashboard_names_a_metric_we_export(
    dashboard_configmap: dict[str, Any],
) -> None:
    dashboard = json.loads(next(iter(dashboard_configmap["data"].values())))
    known = exported_series() | KUBE_STATE_METRICS | NGINX_EXPORTER_SERIES
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert queries
    for query in queries:
        named = set(_METRIC_NAME.findall(query))
        assert named, f"names no metric: {query}"
        assert named <= known, f"{query}: unknown {sorted(named - known)}"


def test_every_alert_names_a_metric_we_export(rendered: dict[str, list[dict[str, Any]]]) -> None:
    # Caught the views consumers' second naming scheme: their dead letters never alerted.
    (rule,) = [o for o in rendered["platform-knobs"] if o["kind"] == "PrometheusRule"]
    exprs = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    assert exprs
    known = exported_series()
    for expr in exprs:
        named = set(_METRIC_NAME.findall(expr))
        assert named, f"names no metric: {expr}"
        assert named <= known, f"{expr}: unknown {sorted(named - known)}"


@pytest.mark.parametrize("chart", ["users", "articles", "views"])
def test_monitors_are_off_by_default_and_cover_every_workload_when_on(
    helm: Helm, chart: str
) -> None:
    kinds = {"ServiceMonitor", "PodMonitor"}
    assert not [o for o in helm.template(CHARTS / chart) if o["kind"] in kinds]
    objects = helm.template(
        CHARTS / chart,
        values={"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "kps"}}}},
    )
    monitors = {o["metadata"]["name"]: o for o in objects if o["kind"] in kinds}
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    assert len(monitors) == len(deployments)
    services = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    for deployment in deployments:
        monitor = monitors[deployment["metadata"]["name"]]
        assert monitor["metadata"]["labels"]["release"] == "kps"
        assert monitor["kind"] == (
            "ServiceMonitor" if deployment["metadata"]["name"] in services else "PodMonitor"
        )
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert selector == deployment["spec"]["selector"]["matchLabels"]
        (endpoint,) = monitor["spec"].get("endpoints") or monitor["spec"]["podMetricsEndpoints"]
        assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")


def test_a_misspelt_monitor_key_fails(helm: Helm) -> None:
    error = helm.template_fails(
        CHARTS / "users", values={"metrics": {"serviceMonitor": {"enable": True}}}
    )
    assert "enable" in error
