"""The database URLs our Secrets hold are ones the services accept (issue 23).

The charts read each service's `<SERVICE>_DATABASE_URL` from a Secret's `uri` key, which
CloudNativePG, `k8s/dev/secrets.yaml` (skaffold) and `k8s/examples/secrets.yaml` (operators)
fill with `postgresql://...`. Each rendered workload's reference is followed to the Secret
it names and the value is parsed by the services' own function.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import REPO, SERVICES, Helm, containers, load_yaml_documents

from newsroom_common.database_url import psycopg2_url

DEV_SECRETS = REPO / "k8s" / "dev" / "secrets.yaml"
EXAMPLE_SECRETS = REPO / "k8s" / "examples" / "secrets.yaml"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "CronJob", "Pod"}


def _secrets(path: Path) -> dict[str, dict[str, str]]:
    """Each Secret of a manifest file: name to its decoded keys."""
    found: dict[str, dict[str, str]] = {}
    for doc in load_yaml_documents(path):
        if doc["kind"] != "Secret":
            continue
        values = dict(doc.get("stringData") or {})
        for key, encoded in (doc.get("data") or {}).items():
            values[key] = base64.b64decode(encoded).decode()
        found[doc["metadata"]["name"]] = values
    return found


def _database_urls(objects: list[dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Per workload (kind/name), every *_DATABASE_URL it reads: variable and secretKeyRef."""
    found: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        if obj["kind"] == "CronJob":
            obj = {"kind": "Job", "spec": obj["spec"]["jobTemplate"]["spec"], **obj}
        for container in containers(obj):
            for env in container.get("env") or []:
                if env["name"].endswith("_DATABASE_URL"):
                    ref = env["valueFrom"]["secretKeyRef"]
                    workload = f"{obj['kind']}/{obj['metadata']['name']}"
                    found.setdefault(workload, []).append((env["name"], ref))
    return found


def _check(objects: list[dict[str, Any]], secrets: dict[str, dict[str, str]]) -> set[str]:
    """Assert every database URL the workloads read is accepted; return the services seen."""
    seen = set()
    for workload, refs in _database_urls(objects).items():
        for variable, ref in refs:
            assert ref["name"] in secrets, f"{workload}: no Secret {ref['name']} in the manifests"
            raw = secrets[ref["name"]][ref["key"]]
            # The form operators and CloudNativePG write, which SQLAlchemy alone would hand to
            # psycopg 3: the services must take it as it is.
            assert raw.startswith("postgresql://"), f"{workload}: {variable}"
            url = psycopg2_url(raw, variable=variable)
            assert url.drivername == "postgresql+psycopg2"
            service = variable.removesuffix("_DATABASE_URL").lower()
            assert (url.username, url.database, url.port) == (service, service, 5432)
            seen.add(service)
    return seen


def test_the_dev_secrets_hold_urls_the_services_accept(helm: Helm) -> None:
    """Each service as skaffold deploys it: its chart with k8s/dev/values, against k8s/dev."""
    secrets = _secrets(DEV_SECRETS)
    skaffold = yaml.safe_load_all((REPO / "skaffold.yaml").read_text())
    configs = {doc["metadata"]["name"]: doc for doc in skaffold}
    for service in SERVICES:
        (release,) = configs[f"{service}-release"]["deploy"]["helm"]["releases"]
        objects = helm.template(
            REPO / release["chartPath"],
            release=release["name"],
            values_files=[REPO / v for v in release["valuesFiles"]],
        )
        workloads = _database_urls(objects)
        # The API, its workers and the migration Job all read it: none may be missed.
        assert any(w.startswith("Job/") for w in workloads), service
        assert len(workloads) >= 2, service
        assert _check(objects, secrets) == {service}


def test_the_platform_chart_reads_urls_the_services_accept(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """`helm install newsroom charts/newsroom` beside Secrets named as CloudNativePG names them
    (the dev ones)."""
    assert _check(rendered["defaults"], _secrets(DEV_SECRETS)) == set(SERVICES)


def test_the_example_url_secrets_are_ones_the_services_accept(helm: Helm) -> None:
    """k8s/examples/secrets.yaml names its URL Secrets apart from CloudNativePG's
    (<cluster>-app): the charts are pointed at them as the file's comment says."""
    values = {s: {"database": {"existingSecret": f"newsroom-{s}-db-url"}} for s in SERVICES}
    objects = helm.template(REPO / "charts" / "newsroom", values=values)
    assert _check(objects, _secrets(EXAMPLE_SECRETS)) == set(SERVICES)


def test_a_secret_in_another_form_is_caught(rendered: dict[str, list[dict[str, Any]]]) -> None:
    secrets = _secrets(DEV_SECRETS)
    secrets["newsroom-views-db-app"]["uri"] = "mysql://views:REPLACE-ME@db:3306/views"
    with pytest.raises(AssertionError):
        _check(rendered["defaults"], secrets)
