"""The CRDs of the operators the charts and k8s/examples write objects for, at pinned
versions, so those objects are validated against the real schemas (the Kubernetes
schemas of kubernetes_validate do not describe custom kinds).

The CRD files come from the operators' own Go modules, fetched through the Go module
proxy with `go mod download` into Go's module cache (~/go/pkg/mod, reused between runs).
The Prometheus Operator's root module is not served by the proxy, so PrometheusRule,
ServiceMonitor and PodMonitor are checked structurally by their own tests instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

# module@version -> the folder of its CRD files.
MODULES = {
    "github.com/kedacore/keda/v2@v2.16.1": "config/crd/bases",
    "sigs.k8s.io/gateway-api@v1.6.3": "config/crd/standard",
    "github.com/cloudnative-pg/cloudnative-pg@v1.25.1": "config/crd/bases",
}

Schema = dict[str, Any]


def _go() -> str:
    found = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if Path(p).exists()), None
    )
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "golang-go"], check=True)
        found = shutil.which("go")
    if not found:
        raise RuntimeError(
            "go not found: the CRD checks fetch the operators' CRDs with `go mod download` "
            "(install Go, e.g. apt-get install golang-go)"
        )
    return found


def _module_dir(module: str) -> Path:
    # Outside any go.mod, so the download does not touch a module of ours.
    with tempfile.TemporaryDirectory() as empty:
        result = subprocess.run(
            [_go(), "mod", "download", "-json", module],
            capture_output=True,
            text=True,
            cwd=empty,
            env={**os.environ, "GOFLAGS": "-mod=mod", "GO111MODULE": "on"},
            timeout=600,
            check=False,
        )
    info = json.loads(result.stdout or "{}")
    if result.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"go mod download {module} failed: {info.get('Error') or result.stderr}")
    return Path(info["Dir"])


def _strict(schema: Any) -> Any:
    """The schema with unknown fields refused, as `kubeconform -strict` does: every
    object with listed properties and no other allowance gets additionalProperties false."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], Schema]:
    """(apiVersion, kind) -> the strict openAPIV3Schema of every served version."""
    schemas: dict[tuple[str, str], Schema] = {}
    for module, folder in MODULES.items():
        for path in sorted((_module_dir(module) / folder).glob("*.yaml")):
            for crd in yaml.safe_load_all(path.read_text()):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if version.get("served"):
                        schema = version["schema"]["openAPIV3Schema"]
                        schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas
