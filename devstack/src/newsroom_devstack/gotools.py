"""Go programs the tooling needs, built once from the Go module proxy at a pinned version.

Each lands in .cache/go-bin/<name>-<version>/<name>; Go's own module and build caches
(~/go/pkg/mod, ~/.cache/go-build) are reused across versions and clones.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from newsroom_devstack.paths import cache_dir


class GoToolError(RuntimeError):
    """Go is missing or a build failed."""


@dataclass(frozen=True)
class GoTool:
    """A `go install`-able command at a pinned module version."""

    name: str
    package: str
    version: str
    # Set for modules whose version list the proxy refuses (403): `go install pkg@version`
    # asks for that list (deprecation check), so these build inside a throwaway module that
    # requires module@version instead.
    module: str = ""

    def path(self) -> Path:
        """Return where the built binary lives."""
        return cache_dir() / "go-bin" / f"{self.name}-{self.version}" / self.name


# The OCI registry of `make registry` (CNCF distribution, the one Docker's registry image runs).
REGISTRY = GoTool("registry", "github.com/distribution/distribution/v3/cmd/registry", "v3.1.2")
# SBOMs of the images.
SYFT = GoTool("syft", "github.com/anchore/syft/cmd/syft", "v1.57.2")
# Strict validation of every rendered manifest, CRD-based kinds included (tests/deploy).
KUBECONFORM = GoTool("kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform", "v0.8.0")
# chart-testing's `ct lint`: chart linting with version-increment checks (tests/deploy).
CHART_TESTING = GoTool(
    "ct",
    "github.com/helm/chart-testing/v3/ct",
    "v3.14.0",
    module="github.com/helm/chart-testing/v3",
)
# The gateway's metrics: the official exporter of nginx's stub_status, as the gateway's sidecar.
NGINX_EXPORTER = GoTool(
    "nginx-prometheus-exporter",
    "github.com/nginx/nginx-prometheus-exporter",
    "v1.5.1",
    module="github.com/nginx/nginx-prometheus-exporter",
)


def go_binary() -> str:
    """Return the go command, or say how to get one."""
    if found := shutil.which("go"):
        return found
    if Path("/usr/local/go/bin/go").is_file():
        return "/usr/local/go/bin/go"
    raise GoToolError(
        "missing tool: go (1.23 or newer) builds the registry and syft from the Go module "
        "proxy; install Go from your distribution or put it on PATH"
    )


def module_dir(
    module: str, *, go: str, cwd: Path | str, env: Mapping[str, str] | None = None
) -> Path:
    """Where Go's module cache holds `module` (module@version, or a dependency of the module in
    `cwd`, at the version its go.mod names), downloading it first if needed: for the files a
    module ships besides code (CRDs)."""
    result = subprocess.run(
        [go, "mod", "download", "-json", module],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        info = json.loads(result.stdout or "{}")
    except ValueError:
        info = {}
    if result.returncode != 0 or "Dir" not in info:
        raise GoToolError(
            f"go mod download {module} (in {cwd}) failed: "
            f"{info.get('Error') or result.stderr or result.stdout}"
        )
    return Path(info["Dir"])


def ensure(tool: GoTool, *, log: object = print) -> Path:
    """Return the binary of tool, building it on first use (a few minutes, once)."""
    target = tool.path()
    if target.is_file():
        return target
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    # Two builds at once (a test session beside `make images`) would share the partial dir.
    with (target.parent.parent / f".{tool.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        return _build(tool, target, log=log)


def _build(tool: GoTool, target: Path, *, log: object) -> Path:
    go = go_binary()
    partial = target.parent.with_name(target.parent.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    if callable(log):
        log(f"building {tool.name} {tool.version} with Go into {target} (once)")
    # Static binaries: they also go into images FROM scratch, and one CGO setting for every
    # tool lets them share Go's build cache.
    env = {**os.environ, "GOBIN": str(partial), "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
    built = partial / tool.name
    with tempfile.TemporaryDirectory() as wrapper:
        if tool.module:
            Path(wrapper, "go.mod").write_text(
                f"module newsroom.invalid/build/{tool.name}\n\ngo 1.24\n\n"
                f"require {tool.module} {tool.version}\n"
            )
            env["GOFLAGS"] += " -mod=mod"
            argv = [go, "build", "-trimpath", "-o", str(built), tool.package]
        else:
            argv = [go, "install", "-trimpath", f"{tool.package}@{tool.version}"]
        result = subprocess.run(
            argv,
            env=env,
            cwd=wrapper,
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
    if result.returncode != 0 or not built.is_file():
        shutil.rmtree(partial, ignore_errors=True)
        raise GoToolError(
            f"go install {tool.package}@{tool.version} failed:\n{result.stdout}{result.stderr}"
        )
    shutil.rmtree(target.parent, ignore_errors=True)
    partial.rename(target.parent)
    return target
