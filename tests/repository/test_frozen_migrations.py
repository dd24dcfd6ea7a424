"""Migrations are frozen history: plain Alembic and SQLAlchemy code, no project imports.

A migration that called a library function (the shared tables, say) would change what it
does when that function changes later, and a database migrated before would no longer
match one migrated after.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = sorted(ROOT.glob("services/*/src/*/adapters/migrations/versions/*.py"))
ALLOWED = ("alembic", "sqlalchemy")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_every_service_has_migrations() -> None:
    services = {p.relative_to(ROOT).parts[1] for p in VERSIONS}
    assert services == {"users", "articles", "views"}


@pytest.mark.parametrize("path", VERSIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_migration_imports_only_alembic_and_sqlalchemy(path: Path) -> None:
    foreign = {n for n in _imports(path) if n.split(".")[0] not in ALLOWED}
    assert not foreign, f"{path.name} imports {sorted(foreign)}: inline what it needs"
