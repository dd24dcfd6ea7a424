"""The custom objects the charts render and k8s/examples applies (KEDA ScaledObjects,
Gateway API HTTPRoutes, CloudNativePG Clusters and Poolers), validated strictly against
the CRDs of the pinned operator versions (operator_crds)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from deploy_support import REPO, load_yaml_documents
from operator_crds import PINNED, crd_schemas

# Value set -> the custom kinds it must render (so the check never passes on nothing).
RENDERED_KINDS = {"keda-on": {"ScaledObject"}, "platform-knobs": {"HTTPRoute"}}
EXAMPLES = ("postgres.yaml", "pooler.yaml", "kafka.yaml")


def errors(obj: dict[str, Any]) -> list[str]:
    schema = crd_schemas().get((obj["apiVersion"], obj["kind"]))
    pinned = ", ".join(PINNED)
    served = f"{obj['apiVersion']} {obj['kind']}"
    assert schema, f"no CRD of the pinned operators ({pinned}) serves {served}"
    validator = jsonschema.Draft7Validator(schema)
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    return [
        f"{name} {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(obj)
    ]


@pytest.mark.parametrize("value_set", list(RENDERED_KINDS))
def test_rendered_custom_objects_match_their_crds(
    rendered: dict[str, list[dict[str, Any]]], value_set: str
) -> None:
    objects = [o for o in rendered[value_set] if o["kind"] in RENDERED_KINDS[value_set]]
    assert {o["kind"] for o in objects} == RENDERED_KINDS[value_set]
    problems = [message for obj in objects for message in errors(obj)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_operator_objects_match_their_crds(example: str) -> None:
    documents = load_yaml_documents(REPO / "k8s" / "examples" / example)
    assert documents
    problems = [message for obj in documents for message in errors(obj)]
    assert not problems, "\n".join(problems)


def test_the_strict_check_catches_a_misspelt_field() -> None:
    (pooler, *_) = load_yaml_documents(REPO / "k8s" / "examples" / "pooler.yaml")
    pooler["spec"]["pgbouncer"]["poolmode"] = pooler["spec"]["pgbouncer"].pop("poolMode")
    assert any("poolmode" in message for message in errors(pooler))
