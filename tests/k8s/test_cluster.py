"""The local cluster itself: a Ready node of the pinned version, cluster DNS and metrics."""

from __future__ import annotations

import json

from newsroom_devstack.cluster import DNS_IP, KUBERNETES_VERSION, NODE_NAME, Cluster

from .conftest import kubectl


def test_the_node_is_ready_and_runs_the_pinned_version(cluster: Cluster) -> None:
    node = json.loads(kubectl(cluster, "get", "node", NODE_NAME, "-o", "json"))
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == KUBERNETES_VERSION
    version = json.loads(kubectl(cluster, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == KUBERNETES_VERSION


def test_metrics_answer_for_the_node(cluster: Cluster) -> None:
    # `kubectl top` reads metrics.k8s.io, served by metrics-server through the aggregator.
    top = kubectl(cluster, "top", "node", NODE_NAME, "--no-headers")
    name, cpu, _cpu_percent, memory, _memory_percent = top.split()
    assert name == NODE_NAME
    assert cpu.endswith("m")
    assert memory.endswith("Mi")


def test_cluster_dns_serves_the_kube_dns_service_address(cluster: Cluster) -> None:
    service = json.loads(
        kubectl(cluster, "-n", "kube-system", "get", "service", "kube-dns", "-o", "json")
    )
    assert service["spec"]["clusterIP"] == DNS_IP
    endpoints = kubectl(
        cluster,
        "-n",
        "kube-system",
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=kube-dns",
        "-o",
        "jsonpath={.items[*].endpoints[*].conditions.ready}",
    )
    assert "true" in endpoints.split()
