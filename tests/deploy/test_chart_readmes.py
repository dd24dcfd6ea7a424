"""Item 15 of issue 18: every chart has a README whose parameters table is generated
from its schema and values (tests/deploy/chart_readme.py), and the committed one is
current."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chart_readme import charts, readme
from deploy_support import ALL_CHARTS, CHARTS


def test_every_chart_is_documented() -> None:
    assert set(charts()) == set(ALL_CHARTS)


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_the_committed_readme_is_the_generated_one(chart: str) -> None:
    committed = (CHARTS / chart / "README.md").read_text()
    assert committed == readme(chart), (
        f"charts/{chart}/README.md is stale: run python tests/deploy/chart_readme.py"
    )


@pytest.mark.parametrize("chart", [c for c in ALL_CHARTS if c != "newsroom-lib"])
def test_the_table_lists_every_leaf_value_with_its_type(chart: str) -> None:
    text = readme(chart)
    schema = json.loads((CHARTS / chart / "values.schema.json").read_text())

    def leaves(node: dict[str, Any], path: str) -> list[str]:
        out: list[str] = []
        for key, sub in node.get("properties", {}).items():
            here = f"{path}.{key}" if path else key
            if sub.get("type") == "object" and sub.get("additionalProperties") is False:
                out += leaves(sub, here)
            else:
                out.append(here)
        return out

    for leaf in leaves(schema, ""):
        assert f"| `{leaf}` |" in text, leaf
