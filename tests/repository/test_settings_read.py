"""Every setting a service declares is read by its code: no dead settings, no dead egress.

VIEWS_JWKS_URL was declared, set by the chart and given a NetworkPolicy egress to users,
and read by nothing (views verifies no token). A setting is read when its field name is an
attribute read somewhere in the service's package or in libs/common (shared fields, and
what gunicorn runs the API with).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "users": "newsroom_users.config:UsersSettings",
    "articles": "newsroom_articles.config:ArticlesSettings",
    "views": "newsroom_views.config:ViewsSettings",
}
# Read from the environment before any settings object exists (telemetry.exporter_from_env,
# in every process and in gunicorn's post_fork); declared so the variable is a known one.
READ_ELSEWHERE = {"otel_exporter_otlp_endpoint"}


def _attributes_read(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                names.add(node.attr)
    return names


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_setting_is_read(service: str) -> None:
    module, _, name = SETTINGS[service].partition(":")
    cls = getattr(importlib.import_module(module), name)
    declared = {f.name for f in dataclasses.fields(cls)}
    read = _attributes_read(ROOT / "services" / service / "src")
    read |= _attributes_read(ROOT / "libs" / "common" / "src")
    unread = declared - read - READ_ELSEWHERE
    assert not unread, f"{name} declares {sorted(unread)}, which nothing reads"
