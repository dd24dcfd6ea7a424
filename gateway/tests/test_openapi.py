"""gateway/openapi.json: a valid OpenAPI 3.1 document that says what the gateway really does."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31

from newsroom_devstack.gateway import openapi_path


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(openapi_path().read_text())  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    jsonschema.Draft202012Validator(OPENAPI_31).validate(document)


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [ref for value in node.values() for ref in references(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in references(value)]
        return []

    for ref in references(document):
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref


def test_every_operation_is_named_tagged_and_says_what_the_gateway_adds(
    document: dict[str, Any],
) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    declared_tags = {tag["name"] for tag in document["tags"]}
    for method, path, operation in operations(document):
        assert set(operation["tags"]) <= declared_tags, (method, path)
        responses = operation["responses"]
        assert responses["429"] == {"$ref": "#/components/responses/TooManyRequests"}
        if "requestBody" in operation:
            assert responses["413"] == {"$ref": "#/components/responses/PayloadTooLarge"}
        # Whatever takes a token may answer 401: a missing one, or one that proves nothing.
        if operation["security"]:
            assert "401" in responses, (method, path)


def test_the_views_api_is_documented_beside_realworld(document: dict[str, Any]) -> None:
    assert {"/articles/{slug}/views", "/views/popular"} <= document["paths"].keys()
    window = document["paths"]["/views/popular"]["get"]["parameters"][0]["schema"]
    assert window["enum"] == ["1h", "24h", "7d", "all"]
