"""`helm test newsroom`: the release's own checks, a reader's round trip among them."""

from __future__ import annotations

import os

from newsroom_devstack.cluster import Cluster
from newsroom_devstack.cluster_deploy import NAMESPACE, RELEASE

from .conftest import run


def test_helm_test_passes_with_a_register_create_read_view_round_trip(cluster: Cluster) -> None:
    helm = os.environ["HELM"]
    result = run(
        [
            helm,
            f"--kubeconfig={cluster.layout.kubeconfig}",
            "test",
            RELEASE,
            f"--namespace={NAMESPACE}",
            "--timeout=5m",
            "--logs",
        ],
        timeout=360,
    )
    assert result.returncode == 0, f"helm test failed:\n{result.stdout}{result.stderr}"
    assert "newsroom-gateway-test-roundtrip" in result.stdout
    assert "view counted" in result.stdout
