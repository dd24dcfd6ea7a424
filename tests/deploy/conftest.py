"""Fixtures of the chart, manifest and image checks: helm, and the umbrella chart
rendered once per value set the users are told about (deploy_support.VALUE_SETS)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The checks share helpers (deploy_support, chart_schemas) that live beside them.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_support import CHARTS, VALUE_SETS, Helm, ensure_helm


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
