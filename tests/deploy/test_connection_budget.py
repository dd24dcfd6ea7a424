"""Item 2 of issue 18: the worst case of PostgreSQL connections per service database,
computed from the charts' values (connection_budget), against max_connections 100, with
and without the PgBouncer path; and the engine counts it assumes, against the code."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from connection_budget import (
    ENGINES,
    NEEDS_SESSION,
    USABLE_CONNECTIONS,
    budget,
    pooler_server_connections,
)
from deploy_support import CHARTS, REPO, SERVICES, Helm, containers, merge, of_kind

DEV_VALUES = REPO / "k8s" / "dev" / "values"


def chart_values(service: str, *overrides: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = merge(
        yaml.safe_load((CHARTS / service / "values.yaml").read_text()), *overrides
    )
    return values


def test_the_defaults_worst_case_is_the_documented_one() -> None:
    # Every HPA at its maximum: users 2 workers x 10 pods x 10 (pool 5 + overflow 5), ...
    figures = {s: budget(s, chart_values(s)).total for s in SERVICES}
    assert figures == {"users": 221, "articles": 481, "views": 321}
    for service, total in figures.items():
        assert total > USABLE_CONNECTIONS, "the README says the defaults need the pooler"
        assert f"| **total** | **{total}** |" in (CHARTS / service / "README.md").read_text()


@pytest.mark.parametrize("service", SERVICES)
def test_with_the_example_pooler_postgresql_sees_what_the_readme_says(service: str) -> None:
    pooled = budget(service, chart_values(service, {"database": {"pooler": {"enabled": True}}}))
    server, clients = pooler_server_connections(service)
    assert pooled.through_pooler <= clients
    fits = server + pooled.direct <= USABLE_CONNECTIONS
    # users and views fit behind the pooler; the articles API needs sessions (its read
    # cache's prepared statement), so its 400 connections stay direct and the README says
    # they must shrink.
    assert fits == (service != "articles")
    text = (CHARTS / service / "README.md").read_text()
    assert ("within the limit" in text) == fits
    # Client connections to PgBouncer are cheap, so each API process keeps a pool as large
    # as its threads (none waits on its own pool); the pooler's server pool is what bounds
    # PostgreSQL.
    values = chart_values(service)
    per_pool = values["database"]["poolSize"] + values["database"]["maxOverflow"]
    assert per_pool >= values["api"]["threads"]


def test_the_workloads_kept_off_the_pooler_are_the_charts(helm: Helm) -> None:
    on = {"database": {"pooler": {"enabled": True}}}
    for service in SERVICES:
        objects = helm.template(CHARTS / service, values=on)
        for deployment in of_kind(objects, "Deployment"):
            workload = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
            env = {e["name"]: e for c in containers(deployment) for e in c.get("env", [])}
            url = env[f"{service.upper()}_DATABASE_URL"]
            direct = "valueFrom" in url
            assert direct == ((service, workload) in NEEDS_SESSION), (service, workload)


def test_the_dev_values_fit_the_shared_dev_postgresql() -> None:
    # k8s/dev/postgres.yaml is one PostgreSQL (max_connections 100) for the three
    # databases, under skaffold (one values file per service) and under `make deploy`
    # (k8s/dev/values/local-cluster.yaml, the umbrella's values).
    common = yaml.safe_load((DEV_VALUES / "common.yaml").read_text())
    skaffold = {
        s: budget(
            s,
            chart_values(s, common, yaml.safe_load((DEV_VALUES / f"{s}.yaml").read_text())),
        ).total
        for s in SERVICES
    }
    assert sum(skaffold.values()) <= USABLE_CONNECTIONS, skaffold
    umbrella = yaml.safe_load((DEV_VALUES / "local-cluster.yaml").read_text())
    deployed = {s: budget(s, chart_values(s, umbrella[s])).total for s in SERVICES}
    assert sum(deployed.values()) <= USABLE_CONNECTIONS, deployed


@pytest.mark.parametrize("service", SERVICES)
def test_engine_counts_are_the_codes(service: str) -> None:
    source = REPO / "services" / service / "src" / f"newsroom_{service}"
    bootstrap = (source / "bootstrap.py").read_text()
    assert len(re.findall(r"\bcreate_engine\(", bootstrap)) == ENGINES[(service, "api")]
    if (service, "consumer") in ENGINES:
        cli = (source / "entrypoints" / "cli.py").read_text()
        consume = cli.split("def consume", 1)[1].split("\ndef ", 1)[0]
        engines = len(re.findall(r"\bcreate_engine\(", consume)) or (
            ENGINES[(service, "api")] if "bootstrap(" in consume else 0
        )
        assert engines == ENGINES[(service, "consumer")]
