"""chart-testing's `ct lint` (Go module github.com/helm/chart-testing/v3, pinned in
newsroom_devstack.gotools) over charts/, with its version-increment check.

What the version check compares with (the "target branch"): ct asks git for the charts
changed since a base commit and requires each changed chart to carry a higher version
than it had there. The base is chosen so that it means "what this work changes":

- NEWSROOM_CT_BASE, when set (any commit-ish), e.g. the last release;
- on a branch other than main: its merge-base with main (`main`, else `origin/main`), so
  a feature branch bumps every chart it changes, as a chart repository expects;
- on main itself (CI clones main with full history): the first parent of HEAD, i.e. the
  main before the last landing, so a landing that changed a chart without a bump fails.

ct only knows `<remote>/<branch>` names. Rather than add a remote or refs to the user's
repository, ct runs in a throwaway clone under .cache/chart-testing/ (sharing the
repository's objects), checked out at HEAD with the working tree's charts/ copied over it,
so uncommitted chart edits are linted too; the base is a ref in that clone only.

Besides the version check (changed charts only), every chart is linted with the version
check off: Chart.yaml against ct's schema (yamale), yamllint of Chart.yaml and values.yaml,
and `helm lint` with the chart's values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy_support import CHARTS, REPO, TOOLS_DIR, ensure_chart_testing_tools, ensure_helm
from operator_crds import _module_dir

from newsroom_devstack import gotools

CONFIG = Path(__file__).resolve().parent / "tools" / "ct.yaml"
WORK: Path = TOOLS_DIR.parent / "chart-testing"
BASE_REMOTE, BASE_BRANCH = "newsroom-base", "target"


class BaseError(RuntimeError):
    """No commit to compare chart versions with."""


@dataclass(frozen=True)
class Result:
    """One `ct lint` run."""

    returncode: int
    output: str
    base: str


def _git(*args: str, cwd: Path = REPO, check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _commit(rev: str, repo: Path) -> str | None:
    found = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=repo, check=False)
    return found or None


def base_commit(repo: Path = REPO) -> str:
    """The commit the version check compares with (see the module's docstring)."""
    if chosen := os.environ.get("NEWSROOM_CT_BASE"):
        commit = _commit(chosen, repo)
        if not commit:
            raise BaseError(f"NEWSROOM_CT_BASE={chosen} names no commit of this repository")
        return commit
    branch = _git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo, check=False)
    if branch != "main":
        for main in ("main", "origin/main"):
            if _commit(main, repo):
                return _git("merge-base", main, "HEAD", cwd=repo)
    parent = _commit("HEAD^1", repo)
    if not parent:
        raise BaseError(
            "ct lint's version check needs the commit before HEAD: clone with full history "
            "(not --depth 1) or set NEWSROOM_CT_BASE to the commit to compare chart versions with"
        )
    return parent


def _workspace(base: str) -> Path:
    """A clone at HEAD with the working tree's charts/ and the base as newsroom-base/target."""
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.parent.mkdir(parents=True, exist_ok=True)
    _git("clone", "--quiet", "--shared", "--no-checkout", str(REPO), str(WORK))
    _git("checkout", "--quiet", "--detach", _git("rev-parse", "HEAD"), cwd=WORK)
    shutil.rmtree(WORK / "charts")
    shutil.copytree(CHARTS, WORK / "charts", symlinks=True)
    _git("update-ref", f"refs/remotes/{BASE_REMOTE}/{BASE_BRANCH}", base, cwd=WORK)
    return WORK


def lint(
    *, all_charts: bool, base: str | None = None, edit: Callable[[Path], None] | None = None
) -> Result:
    """Run `ct lint`: every chart without the version check, or the changed ones with it.

    With `edit` (for the checks' own tests), the workspace's charts as copied become the
    base (committed there), then `edit` changes them.
    """
    base = base or base_commit()
    work = _workspace(base)
    if edit:
        _git("add", "--all", "charts", cwd=work)
        identity = ["-c", "user.name=chart-testing", "-c", "user.email=ct@newsroom.invalid"]
        _git(*identity, "commit", "--quiet", "--allow-empty", "-m", "charts as copied", cwd=work)
        _git("update-ref", f"refs/remotes/{BASE_REMOTE}/{BASE_BRANCH}", "HEAD", cwd=work)
        edit(work / "charts")
    ct = gotools.ensure(gotools.CHART_TESTING)
    # ct's own Chart.yaml schema and yamllint rules, from the module the binary was built from.
    module = _module_dir(f"{gotools.CHART_TESTING.module}@{gotools.CHART_TESTING.version}")
    tools = [ensure_chart_testing_tools(), ensure_helm().parent]
    env = {
        **os.environ,
        "PATH": os.pathsep.join([*map(str, tools), os.environ.get("PATH", "")]),
        "HELM_CACHE_HOME": str(TOOLS_DIR / "helm-home" / "cache"),
        "HELM_CONFIG_HOME": str(TOOLS_DIR / "helm-home" / "config"),
        "HELM_DATA_HOME": str(TOOLS_DIR / "helm-home" / "data"),
    }
    argv = [
        str(ct),
        "lint",
        "--config",
        str(CONFIG),
        "--lint-conf",
        str(module / "etc" / "lintconf.yaml"),
        "--chart-yaml-schema",
        str(module / "etc" / "chart_schema.yaml"),
        "--remote",
        BASE_REMOTE,
        "--target-branch",
        BASE_BRANCH,
    ]
    argv += ["--all", "--check-version-increment=false"] if all_charts else []
    try:
        result = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=600
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Result(result.returncode, result.stdout + result.stderr, base)


if __name__ == "__main__":
    for every in (True, False):
        outcome = lint(all_charts=every)
        print(outcome.output)
        if outcome.returncode:
            raise SystemExit(outcome.returncode)
