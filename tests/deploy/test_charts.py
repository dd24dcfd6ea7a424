"""Every chart lints clean with --strict, and its schema rejects what it does not know."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from chart_schemas import render, schemas
from deploy_support import ALL_CHARTS, CHARTS, SERVICE_CHARTS, Helm


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_chart_lints_strictly(helm: Helm, chart: str) -> None:
    result = helm.run("lint", "--strict", str(CHARTS / chart), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


# One misspelling per level: a top-level key, a workload key, a nested one, a global.
MISSPELT = {
    "users": {"api": {"replica": 3}},
    "articles": {"consumer": {"autoscaling": {"maxReplica": 3}}},
    "views": {"databse": {"existingSecret": "x"}},
    "gateway": {"ingress": {"classname": "nginx"}},
    "newsroom": {"global": {"kafka": {"bootstrapServer": "kafka:9092"}}},
}


@pytest.mark.parametrize("chart", list(MISSPELT))
def test_lint_fails_on_a_misspelt_value(helm: Helm, chart: str, tmp_path: Path) -> None:
    values = tmp_path / "misspelt.yaml"
    values.write_text(yaml.safe_dump(MISSPELT[chart]))
    result = helm.run("lint", "--strict", str(CHARTS / chart), "-f", str(values), check=False)
    assert result.returncode != 0
    assert "additional properties" in result.stdout + result.stderr


def test_umbrella_lint_fails_on_a_misspelt_subchart_value(helm: Helm, tmp_path: Path) -> None:
    values = tmp_path / "misspelt.yaml"
    values.write_text(yaml.safe_dump({"views": {"consumer": {"kedaa": {"enabled": True}}}}))
    result = helm.run("lint", "--strict", str(CHARTS / "newsroom"), "-f", str(values), check=False)
    assert result.returncode != 0
    assert "kedaa" in result.stdout + result.stderr


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_committed_schema_is_the_generated_one(chart: str) -> None:
    committed = (CHARTS / chart / "values.schema.json").read_text()
    assert committed == render(schemas()[chart]), (
        f"charts/{chart}/values.schema.json is stale: run python tests/deploy/chart_schemas.py"
    )


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_defaults_satisfy_the_schema_and_every_object_is_closed(chart: str) -> None:
    schema = json.loads((CHARTS / chart / "values.schema.json").read_text())

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, f"{chart}: {path} is open"
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(schema, "")
    # The umbrella's subchart entries are the one deliberate exception (each subchart
    # checks its own values), so they are not walked here.


def test_library_is_a_library_and_every_define_is_documented() -> None:
    chart = yaml.safe_load((CHARTS / "newsroom-lib" / "Chart.yaml").read_text())
    assert chart["type"] == "library"
    defines = 0
    for template in (CHARTS / "newsroom-lib" / "templates").glob("*.tpl"):
        text = template.read_text()
        for name in re.findall(r'\{\{-? define "([^"]+)"', text):
            defines += 1
            assert name.startswith("newsroom-lib."), f"{template.name}: {name} is not namespaced"
            # Headed by a comment that says how to call it.
            head = re.search(
                r"\{\{/\*((?:(?!\*/\}\}).)*)\*/\}\}\s*\{\{-? define \"" + re.escape(name),
                text,
                re.S,
            )
            assert head, f"{name} has no comment above it"
            assert "Usage:" in head.group(1), f"{name} lacks its usage comment"
    assert defines >= 30


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_service_charts_use_the_library_and_stay_short(chart: str) -> None:
    meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
    library = yaml.safe_load((CHARTS / "newsroom-lib" / "Chart.yaml").read_text())
    assert {
        "name": "newsroom-lib",
        "version": library["version"],
        "repository": "file://../newsroom-lib",
    } in meta["dependencies"]
    vendored = CHARTS / chart / "charts" / "newsroom-lib"
    assert vendored.is_symlink()
    assert vendored.resolve() == (CHARTS / "newsroom-lib").resolve()
    for template in (CHARTS / chart / "templates").rglob("*.yaml"):
        assert len(template.read_text().splitlines()) <= 60, f"{template} belongs in the library"


def test_umbrella_depends_on_every_chart_with_a_condition() -> None:
    meta = yaml.safe_load((CHARTS / "newsroom" / "Chart.yaml").read_text())
    dependencies = {d["name"]: d for d in meta["dependencies"]}
    assert set(dependencies) == set(SERVICE_CHARTS)
    for name, dependency in dependencies.items():
        assert dependency["repository"] == f"file://../{name}"
        assert dependency["condition"] == f"{name}.enabled"
        # A chart's version bump (ct lint's check) moves the pin with it.
        vendored_meta = yaml.safe_load((CHARTS / name / "Chart.yaml").read_text())
        assert dependency["version"] == vendored_meta["version"], name
        vendored = CHARTS / "newsroom" / "charts" / name
        assert vendored.is_symlink()
        assert vendored.resolve() == (CHARTS / name).resolve()


@pytest.mark.parametrize("chart", [*SERVICE_CHARTS, "newsroom"])
def test_every_chart_has_notes_on_reaching_the_api(helm: Helm, chart: str) -> None:
    assert (CHARTS / chart / "templates" / "NOTES.txt").exists()
    result = helm.run(
        "install", "newsroom", str(CHARTS / chart), "--dry-run=client", "--namespace", "newsroom"
    )
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "8080" in notes or "/api" in notes
