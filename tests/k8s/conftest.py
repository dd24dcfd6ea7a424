"""Fixtures of the Kubernetes proofs: the local cluster that `make cluster` started.

These tests need a real cluster (root, a Linux kernel with bridges and netfilter), so plain
`make test` skips them, saying why; `make k8s-test` starts the cluster, deploys the platform and
runs them with NEWSROOM_K8S_TEST=1.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from newsroom_devstack.cluster import Cluster

_ENABLED = os.environ.get("NEWSROOM_K8S_TEST") == "1"
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the cluster proofs unless `make k8s-test` asked for them."""
    skip = pytest.mark.skip(
        reason="needs the local Kubernetes cluster: run `make k8s-test` (as root) for these"
    )
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.k8s)
            if not _ENABLED:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """The running local cluster (`make cluster`); fails, naming it, when it is not up."""
    found = Cluster()
    if not found.layout.kubeconfig.exists() or not found.running("kube-apiserver"):
        pytest.fail("no local cluster runs: `make cluster` starts one", pytrace=False)
    return found


def kubectl(cluster: Cluster, *args: str, timeout: float = 120) -> str:
    """Run kubectl on the cluster; fail the test with its output when it fails."""
    result = cluster.kubectl(*args, check=False, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"kubectl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def run(argv: list[str], *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
