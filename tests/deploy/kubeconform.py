"""kubeconform (Go module github.com/yannh/kubeconform, pinned in newsroom_devstack.gotools),
run offline over rendered manifests with every schema it needs prepared here.

kubeconform fetches schemas over HTTP by default; nothing may leave this machine, so its
schema folder is built under .cache/kubeconform-schemas/ from what the project already has:

- Kubernetes' own kinds: the strict JSON schemas of Kubernetes 1.30 that kubernetes_validate
  (a locked dev dependency) ships. They refer to one shared definitions file by an absolute
  path; that reference is rewritten to the file's own location so kubeconform can follow it.
- Custom kinds: each served version of every CRD of the pinned operators (operator_crds),
  made strict the way openapi2jsonschema's `DENY_ROOT_ADDITIONAL_PROPERTIES` does and
  further (every object with listed properties refuses unknown ones), named
  `<group>/<kind>_<version>.json` as kubeconform's `{{ .Group }}` template expects.

No schema is ever skipped: a kind without a schema fails the check
(no -ignore-missing-schemas).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from deploy_support import TOOLS_DIR
from operator_crds import _strict, crd_files, crds

from newsroom_devstack import gotools

KUBERNETES_VERSION = "1.30.0"
SCHEMAS_DIR: Path = TOOLS_DIR.parent / "kubeconform-schemas"
_DEFINITIONS_REF = '"/api/_definitions.json#'


@dataclass(frozen=True)
class Finding:
    """One object kubeconform did not accept."""

    kind: str
    name: str
    status: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}: {self.status}: {self.message}"


def binary() -> Path:
    """The kubeconform binary, built from the Go module proxy on first use."""
    return gotools.ensure(gotools.KUBECONFORM)


def _kubernetes_source() -> Path:
    package = Path(kubernetes_validate.__file__).resolve().parent
    minor = ".".join(KUBERNETES_VERSION.split(".")[:2])
    return package / "kubernetes-json-schema" / f"v{minor}.0-local-strict"


@cache
def schema_dir() -> Path:
    """The prepared schema folder (rebuilt when its sources change)."""
    source = _kubernetes_source()
    digest = hashlib.sha256(str(source).encode())
    for path in crd_files():
        digest.update(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    target = SCHEMAS_DIR / digest.hexdigest()[:16]
    if (target / ".complete").exists():
        return target
    native = target / f"v{KUBERNETES_VERSION}-standalone-strict"
    native.mkdir(parents=True, exist_ok=True)
    definitions = native / "_definitions.json"
    for path in source.glob("*.json"):
        text = path.read_text()
        if path.name != "_definitions.json":
            text = text.replace(_DEFINITIONS_REF, f'"file://{definitions}#')
        (native / path.name).write_text(text)
    for crd in crds():
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
        for version in crd["spec"]["versions"]:
            if not version.get("served"):
                continue
            schema = _strict(version["schema"]["openAPIV3Schema"])
            out = target / "crds" / group / f"{kind}_{version['name']}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(schema))
    (target / ".complete").write_text("")
    return target


def validate(objects: list[dict[str, Any]], *, name: str) -> list[Finding]:
    """Run kubeconform -strict over objects; return what it refused (empty when all pass)."""
    folder = SCHEMAS_DIR / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    schemas = schema_dir()
    result = subprocess.run(
        [
            str(binary()),
            "-strict",
            "-summary",
            "-output",
            "json",
            "-kubernetes-version",
            KUBERNETES_VERSION,
            "-schema-location",
            str(schemas)
            + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
            + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
            "-schema-location",
            str(schemas) + "/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(
            f"kubeconform gave no report ({result.returncode}): {result.stdout}{result.stderr}"
        ) from error
    findings = [
        Finding(r["kind"], r["name"], r["status"], r.get("msg", ""))
        for r in report.get("resources", [])
        if r["status"] != "statusValid"
    ]
    valid = report["summary"]["valid"]
    if not findings and (result.returncode != 0 or valid != len(objects)):
        raise AssertionError(
            f"kubeconform accepted {valid} of {len(objects)} objects, exit "
            f"{result.returncode}: {result.stdout}{result.stderr}"
        )
    return findings
