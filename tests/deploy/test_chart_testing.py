"""chart-testing's `ct lint` over every chart, and its version-increment check over the
charts this work changes (the base is chosen in chart_testing.base_commit)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from chart_testing import BaseError, base_commit, lint
from deploy_support import REPO


def test_every_chart_passes_ct_lint() -> None:
    result = lint(all_charts=True)
    assert result.returncode == 0, result.output
    assert "All charts linted successfully" in result.output
    for chart in ("newsroom-lib", "users", "articles", "views", "gateway", "newsroom"):
        assert f"✔︎ {chart} => " in result.output


def test_every_changed_chart_carries_a_version_bump() -> None:
    result = lint(all_charts=False)
    assert result.returncode == 0, f"compared with {result.base}:\n{result.output}"
    assert (
        "All charts linted successfully" in result.output
        or "No chart changes detected" in result.output
    ), result.output


def test_a_change_without_a_bump_fails() -> None:
    def edit(charts: Path) -> None:
        values = charts / "views" / "values.yaml"
        values.write_text(values.read_text() + "# an edit that ships without a version bump\n")

    result = lint(all_charts=False, edit=edit)
    assert result.returncode != 0
    assert "Needs a version bump" in result.output
    assert 'views => (version: "' in result.output


def _clone(source: Path, target: Path, *args: str) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", *args, f"file://{source}", str(target)],
        check=True,
        capture_output=True,
    )
    return target


def test_a_fresh_clone_finds_its_base(tmp_path: Path) -> None:
    """CI clones main with full history: the base is the main before the last landing;
    a clone of a feature branch compares with its merge-base with origin/main."""
    clone = _clone(REPO, tmp_path / "clone")
    subprocess.run(["git", "checkout", "-q", "-B", "main"], cwd=clone, check=True)
    parent = subprocess.run(
        ["git", "rev-parse", "HEAD^1"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert base_commit(clone) == parent
    subprocess.run(["git", "checkout", "-q", "-b", "feature"], cwd=clone, check=True)
    subprocess.run(["git", "branch", "-q", "-D", "main"], cwd=clone, check=True)
    origin_main = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "origin/main"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin_main:
        merge_base = subprocess.run(
            ["git", "merge-base", "origin/main", "HEAD"],
            cwd=clone,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert base_commit(clone) == merge_base


def test_a_shallow_clone_says_what_the_check_needs(tmp_path: Path) -> None:
    clone = _clone(REPO, tmp_path / "shallow", "--depth", "1")
    with pytest.raises(BaseError, match="clone with full history"):
        base_commit(clone)
