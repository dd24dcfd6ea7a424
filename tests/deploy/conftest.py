"""Fixtures of the chart, manifest and image checks: helm, the umbrella chart rendered
with each value set the issue names, and the services' own declarations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The checks share helpers (deploy_support, chart_schemas) that live beside them.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_support import CHARTS, Helm, ensure_helm

# The umbrella chart rendered with every value set a user is told about. Each set is
# validated strictly against Kubernetes 1.30 and checked by test_rendered.py.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "autoscaling-off": {
        chart: {workload: {"autoscaling": {"enabled": False}} for workload in workloads}
        for chart, workloads in {
            "users": ("api", "relay"),
            "articles": ("api", "relay", "consumer"),
            "views": ("api", "consumer"),
        }.items()
    }
    | {"gateway": {"autoscaling": {"enabled": False}}},
    "ingress-on": {
        "gateway": {
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "hosts": [
                    {"host": "newsroom.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}
                ],
                "tls": [{"secretName": "newsroom-tls", "hosts": ["newsroom.example.com"]}],
            }
        }
    },
    "keda-on": {
        "views": {"consumer": {"keda": {"enabled": True}}},
        "articles": {"consumer": {"keda": {"enabled": True}}},
    },
}


@pytest.fixture(scope="session")
def helm() -> Helm:
    """helm, installed into .cache/deploy-tools on first use."""
    return Helm(ensure_helm())


@pytest.fixture(scope="session")
def rendered(helm: Helm) -> dict[str, list[dict[str, Any]]]:
    """The umbrella chart's objects for each value set, rendered once per session."""
    return {
        name: helm.template(CHARTS / "newsroom", values=values)
        for name, values in VALUE_SETS.items()
    }
