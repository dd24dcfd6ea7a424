"""Liveness off the request slots (issue 18, item 6): every API's liveness probe goes to the
listener gunicorn's master serves beside the workers (libs/common test_probe_listener.py
shows it answering under saturation); readiness and startup stay on the traffic port.

And the other end of a pod's life: a pod that serves a Service keeps serving for
preStopSleepSeconds after it leaves the endpoints, before SIGTERM closes its listener.
"""

from __future__ import annotations

from typing import Any

from deploy_support import CHARTS, Helm, by_name, containers, pod_spec

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


# A pod's own 30 s for in-flight work after SIGTERM (gunicorn's graceful_timeout is 20 s).
GRACE_AFTER_DRAIN = 30


def test_served_pods_drain_before_sigterm_and_workers_stop_at_once(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """The rolling-upgrade proof on the cluster once saw a connection refused at :30080 with a
    5 s drain: kube-proxy had not yet dropped the old gateway pod. Served pods drain 15 s."""
    deployments = by_name(rendered["defaults"], "Deployment")
    served = [*APIS, "newsroom-gateway"]
    for name in served:
        container = next(iter(containers(deployments[name])))
        assert container["lifecycle"]["preStop"] == {"exec": {"command": ["sleep", "15"]}}
        assert (
            pod_spec(deployments[name])["terminationGracePeriodSeconds"] == 15 + GRACE_AFTER_DRAIN
        )
    workers = [d for name, d in deployments.items() if name not in served]
    assert workers
    for deployment in workers:
        (container,) = containers(deployment)
        assert "lifecycle" not in container
        assert pod_spec(deployment)["terminationGracePeriodSeconds"] == GRACE_AFTER_DRAIN


def test_the_drain_is_a_value(helm: Helm) -> None:
    """Behind a cloud load balancer the drain is the LB's deregistration delay, not ours."""
    objects = helm.template(
        CHARTS / "newsroom",
        values={
            "gateway": {"preStopSleepSeconds": 40},
            "users": {"api": {"preStopSleepSeconds": 0}},
        },
    )
    deployments = by_name(objects, "Deployment")
    gateway = deployments["newsroom-gateway"]
    assert next(iter(containers(gateway)))["lifecycle"]["preStop"]["exec"]["command"] == [
        "sleep",
        "40",
    ]
    assert pod_spec(gateway)["terminationGracePeriodSeconds"] == 40 + GRACE_AFTER_DRAIN
    (users,) = containers(deployments["newsroom-users"])
    assert "lifecycle" not in users
    assert (
        pod_spec(deployments["newsroom-users"])["terminationGracePeriodSeconds"]
        == GRACE_AFTER_DRAIN
    )
