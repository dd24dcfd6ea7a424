"""docs/architecture.md names real places: every file, folder and module it points at exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()
SERVICES = sorted((ROOT / "services").glob("*/src/newsroom_*"))
CODE = re.compile(r"`([^`\s]+)`")


def test_repository_paths_exist() -> None:
    paths = [c for c in CODE.findall(DOC) if c.split("/")[0] in {"libs", "gateway", "lint", "docs"}]
    assert paths
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/architecture.md names {missing}"


def test_paths_inside_a_service_exist_in_one() -> None:
    inside = [
        c
        for c in CODE.findall(DOC)
        if re.fullmatch(
            r"(entrypoints|service_layer|domain|adapters)/[a-z_/]+(\.py)?/?|[a-z_]+\.py", c
        )
    ]
    assert inside
    missing = [p for p in inside if not any((package / p).exists() for package in SERVICES)]
    assert not missing, f"docs/architecture.md names {missing}, which no service has"


def test_the_shared_library_modules_it_lists_exist() -> None:
    (paragraph,) = [
        p for p in DOC.split("\n\n") if p.startswith("`libs/common` (`newsroom_common`)")
    ]
    modules = [m for m in CODE.findall(paragraph) if re.fullmatch(r"[a-z_]+", m)][1:]
    assert len(modules) > 10
    missing = [m for m in modules if importlib.util.find_spec(f"newsroom_common.{m}") is None]
    assert not missing, f"docs/architecture.md lists newsroom_common modules {missing}"
    for dotted in re.findall(r"`newsroom_common\.([a-z_]+)", DOC):
        assert importlib.util.find_spec(f"newsroom_common.{dotted}") is not None, dotted
