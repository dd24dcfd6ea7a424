"""Liveness off the request slots (issue 18, item 6): every API's liveness probe goes to the
listener gunicorn's master serves beside the workers (libs/common test_probe_listener.py
shows it answering under saturation); readiness and startup stay on the traffic port."""

from __future__ import annotations

from typing import Any

from deploy_support import by_name, containers

APIS = {"newsroom-users": "USERS", "newsroom-articles": "ARTICLES", "newsroom-views": "VIEWS"}
PROBE_PORT = 9091


def test_api_liveness_uses_the_masters_probe_listener(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    deployments = by_name(rendered["defaults"], "Deployment")
    for name, prefix in APIS.items():
        (container,) = containers(deployments[name])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["probes"] == PROBE_PORT
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env[f"{prefix}_PROBE_PORT"] == str(PROBE_PORT)
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_workers_keep_their_probes_on_their_own_port(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    deployments = by_name(rendered["defaults"], "Deployment")
    workers = [d for name, d in deployments.items() if name not in APIS and "gateway" not in name]
    assert workers
    for deployment in workers:
        (container,) = containers(deployment)
        assert [p["name"] for p in container["ports"]] == ["http"]
        assert container["livenessProbe"]["httpGet"]["port"] == "http"


def test_probe_timings_still_override(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """platform-knobs sets users.api.livenessProbe timings: they apply on the probe port."""
    deployment = by_name(rendered["platform-knobs"], "Deployment")["newsroom-users"]
    (container,) = containers(deployment)
    probe = container["livenessProbe"]
    assert probe["httpGet"]["port"] == "probes"
    assert (probe["timeoutSeconds"], probe["failureThreshold"]) == (5, 6)
