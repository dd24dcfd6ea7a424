"""Fixtures of the Kubernetes proofs: the local cluster that `make cluster` started.

These tests need a real cluster (root, a Linux kernel with bridges and netfilter), so plain
`make test` skips them, saying why; `make k8s-test` starts the cluster, deploys the platform and
runs them with NEWSROOM_K8S_TEST=1.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from newsroom_devstack.cluster import Cluster
from newsroom_devstack.cluster_deploy import GATEWAY_URL, NAMESPACE, deploy_figures_path

_ENABLED = os.environ.get("NEWSROOM_K8S_TEST") == "1"
# Figures the proofs measured, kept in a file (pytest may import this module twice) and
# printed as the summary table at the end of the run.
FIGURES_FILE = Path(__file__).resolve().parents[2] / "var" / "k8s-test" / "figures.json"
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


def release_json(cluster: Cluster, *args: str) -> Any:
    """`kubectl get ... -o json` (or another JSON-printing command) in the release's namespace."""
    return json.loads(kubectl(cluster, "-n", NAMESPACE, *args, "-o", "json"))


def rolled_out(cluster: Cluster, namespace: str, deployment: str) -> None:
    """Wait (up to 3 minutes) until `deployment` has all its replicas updated and available."""
    kubectl(
        cluster,
        "-n",
        namespace,
        "rollout",
        "status",
        f"deployment/{deployment}",
        "--timeout=180s",
        timeout=200,
    )


def kubectl_input(
    cluster: Cluster, document: Any, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run kubectl on the cluster with `document` as JSON on its stdin (`-f -`)."""
    return subprocess.run(
        [str(cluster.layout.kube("kubectl")), f"--kubeconfig={cluster.layout.kubeconfig}", *args],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """check()'s first truthy answer; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def apply(cluster: Cluster, namespace: str, objects: list[dict[str, Any]]) -> None:
    """`kubectl apply` these objects (a List) in `namespace`; fail the test when it fails."""
    result = kubectl_input(
        cluster,
        {"apiVersion": "v1", "kind": "List", "items": objects},
        "-n",
        namespace,
        "apply",
        "-f",
        "-",
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl apply failed:\n{result.stdout}{result.stderr}")


def run(argv: list[str], *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def helm_path() -> Path:
    """The pinned helm `make k8s-test` passes in $HELM."""
    return Path(os.environ["HELM"])


def helm(cluster: Cluster, *args: str, timeout: float = 900) -> str:
    """Run helm (the pinned binary `make k8s-test` passes in $HELM) on the cluster."""
    result = run(
        [str(helm_path()), f"--kubeconfig={cluster.layout.kubeconfig}", *args], timeout=timeout
    )
    assert result.returncode == 0, f"helm {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def register(prefix: str) -> tuple[dict[str, str], str]:
    """A new user, registered through the gateway: its credentials and its token."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "correct horse 1"}
    response = requests.post(f"{GATEWAY_URL}/api/users", json={"user": user}, timeout=15)
    assert response.status_code == 201, response.text
    return user, str(response.json()["user"]["token"])


def record(name: str, value: str) -> None:
    """Keep one figure for the summary table."""
    figures = _figures()
    figures[name] = value
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(json.dumps(figures, indent=2) + "\n")


def _figures() -> dict[str, str]:
    try:
        figures: dict[str, str] = json.loads(FIGURES_FILE.read_text())
    except (OSError, ValueError):
        figures = {}
    return figures


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start each run with a new table, headed by what `make deploy` measured.

    The teardown run (`-m teardown`, after the proofs) keeps the proofs' table.
    """
    if not _ENABLED or session.config.getoption("markexpr") == "teardown":
        return
    FIGURES_FILE.unlink(missing_ok=True)
    try:
        deployed = json.loads(deploy_figures_path(Cluster()).read_text())
    except (OSError, ValueError):
        return
    record("install: helm upgrade --install --wait (s)", str(deployed["helm_seconds"]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the proofs measured as one table."""
    figures = _figures()
    if not figures:
        return
    width = max(len(name) for name in figures)
    terminalreporter.section("local cluster figures")
    for name, value in figures.items():
        terminalreporter.write_line(f"{name:<{width}}  {value}")
