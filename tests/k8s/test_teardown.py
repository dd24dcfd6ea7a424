"""`make cluster-down` leaves nothing behind: no process, route, rule, bridge, netns or mount.

Runs last and on its own (`make k8s-test` calls it unless KEEP_CLUSTER=1): it stops the cluster.
"""

from __future__ import annotations

import pytest

from newsroom_devstack.cluster import Cluster, leftovers


@pytest.mark.teardown
def test_cluster_down_leaves_nothing_of_ours(cluster: Cluster) -> None:
    cluster.down()
    assert leftovers(cluster.layout) == []
    # A second down finds nothing to do and still succeeds.
    Cluster().down()
    assert leftovers(cluster.layout) == []
