"""The CRDs of the operators the charts and k8s/examples write objects for, at pinned
versions, so those objects are validated against the real schemas (the Kubernetes
schemas of kubernetes_validate do not describe custom kinds).

The CRD files of the Go operators (KEDA, Gateway API, CloudNativePG) come from their own
Go modules, fetched through the Go module proxy with `go mod download` into Go's module
cache (~/go/pkg/mod, reused between runs). Strimzi is not a Go module and the Prometheus
Operator's root module is not served by the proxy: their CRDs are kept as test data in
tests/deploy/crds/ (sources and licenses in its README).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from newsroom_devstack import gotools
from newsroom_devstack.cluster import KEDA_MODULE, KEDA_VERSION

# module@version -> the folder of its CRD files.
MODULES = {
    # The version `make cluster` runs.
    f"{KEDA_MODULE}@{KEDA_VERSION}": "config/crd/bases",
    "sigs.k8s.io/gateway-api@v1.6.3": "config/crd/standard",
    "github.com/cloudnative-pg/cloudnative-pg@v1.25.1": "config/crd/bases",
}

# The operators whose CRDs are kept here: version -> folder under tests/deploy/crds.
CRDS_DIR = Path(__file__).resolve().parent / "crds"
VENDORED = {
    "Strimzi 1.0.1": CRDS_DIR / "strimzi-1.0.1",
    "Prometheus Operator v0.93.0": CRDS_DIR / "prometheus-operator-v0.93.0",
}
PINNED = (*MODULES, *VENDORED)

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
        return gotools.module_dir(
            module, go=_go(), cwd=empty, env={"GOFLAGS": "-mod=mod", "GO111MODULE": "on"}
        )


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
def crd_files() -> tuple[Path, ...]:
    """The CRD files of every pinned operator (the Go modules downloaded on first use)."""
    folders = [_module_dir(module) / folder for module, folder in MODULES.items()]
    folders += VENDORED.values()
    return tuple(path for folder in folders for path in sorted(folder.glob("*.yaml")))


def crds() -> list[dict[str, Any]]:
    """Every CustomResourceDefinition of the pinned operators."""
    return [
        crd
        for path in crd_files()
        for crd in yaml.safe_load_all(path.read_text())
        if crd and crd.get("kind") == "CustomResourceDefinition"
    ]


@cache
def crd_schemas() -> dict[tuple[str, str], Schema]:
    """(apiVersion, kind) -> the strict openAPIV3Schema of every served version."""
    schemas: dict[tuple[str, str], Schema] = {}
    for crd in crds():
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas
