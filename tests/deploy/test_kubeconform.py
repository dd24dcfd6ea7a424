"""kubeconform -strict over every rendered value set and every plain manifest of k8s/:
Kubernetes 1.30's schemas for its own kinds, and the CRDs of the pinned operator releases
(Strimzi 1.0.1, CloudNativePG 1.25.1, KEDA 2.16.1, Gateway API 1.6.3, Prometheus Operator
0.93.0) for the rest. A kind with no schema fails: nothing is skipped."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from deploy_support import REPO, VALUE_SETS, load_yaml_documents
from kubeconform import validate

# The plain manifests users and skaffold apply as they are.
MANIFESTS = sorted(
    str(p.relative_to(REPO))
    for folder in ("k8s/examples", "k8s/dev")
    for p in (REPO / folder).glob("*.yaml")
)
# Each custom kind the checks must meet at least once (so none passes on nothing).
CUSTOM_KINDS = {
    "ScaledObject": "keda-on",
    "HTTPRoute": "platform-knobs",
    "PrometheusRule": "platform-knobs",
    "ServiceMonitor": "platform-knobs",
    "PodMonitor": "platform-knobs",
}


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_rendered_value_set_is_strictly_valid(
    rendered: dict[str, list[dict[str, Any]]], value_set: str
) -> None:
    findings = validate(rendered[value_set], name=f"values-{value_set}")
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_every_plain_manifest_is_strictly_valid(manifest: str) -> None:
    documents = load_yaml_documents(REPO / manifest)
    assert documents
    findings = validate(documents, name=manifest.replace("/", "-"))
    assert not findings, "\n".join(map(str, findings))


def test_every_custom_kind_is_met(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for kind, value_set in CUSTOM_KINDS.items():
        assert any(o["kind"] == kind for o in rendered[value_set]), (kind, value_set)
    examples = {
        d["kind"]
        for path in ("k8s/examples/kafka.yaml", "k8s/examples/postgres.yaml")
        for d in load_yaml_documents(REPO / path)
    }
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "Cluster"} <= examples


def test_a_misspelt_field_an_old_api_and_an_unknown_kind_fail(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = copy.deepcopy(rendered["platform-knobs"])
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    monitor = next(o for o in objects if o["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    (node_pool, *_) = load_yaml_documents(REPO / "k8s/examples/kafka.yaml")
    old_api = {**node_pool, "apiVersion": "kafka.strimzi.io/v1beta2"}
    unknown = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    findings = validate([deployment, monitor, old_api, unknown], name="misspelt")
    text = "\n".join(map(str, findings))
    assert len(findings) == 4, text
    assert "imagePullPolicyy" in text
    assert "intervall" in text
    assert "could not find schema for KafkaNodePool" in text
    assert "could not find schema for Gadget" in text
