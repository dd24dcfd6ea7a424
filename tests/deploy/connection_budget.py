"""The worst case of PostgreSQL connections per service database, from a chart's values.

Every process holds one SQLAlchemy pool per engine, and a pool opens at most
`poolSize + maxOverflow` connections. At the HPAs' maxReplicas, each database sees:

    API:       workers x engines x (poolSize + maxOverflow) x maxReplicas
    consumer:  engines x (poolSize + maxOverflow) x maxReplicas
    relay:     engines x (poolSize + maxOverflow) x replicas
    migration: 1 (the hook Job: Alembic with NullPool)

With `database.pooler.enabled`, the workloads safe behind transaction pooling connect to
PgBouncer instead, and PostgreSQL sees the pooler's own server connections
(k8s/examples/pooler.yaml) plus the workloads that need a session (NEEDS_SESSION) and the
migration Job. Used by the test of the budget and by the chart READMEs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
# PostgreSQL's default max_connections, which k8s/examples/postgres.yaml keeps, less its
# superuser_reserved_connections (3).
MAX_CONNECTIONS = 100
USABLE_CONNECTIONS = MAX_CONNECTIONS - 3

# Engines (pools) per process, by service and workload: the create_engine calls of each
# entry point (test_connection_budget checks these counts against the code).
ENGINES = {
    ("users", "api"): 1,
    ("users", "relay"): 1,
    ("articles", "api"): 2,  # writes, and an autocommit pool for reads
    ("articles", "relay"): 1,
    ("articles", "consumer"): 1,
    ("views", "api"): 1,
    ("views", "consumer"): 1,
}


# Workloads that need a PostgreSQL session of their own, so never go through PgBouncer's
# transaction pooling (the charts' facts say needsSession; test_connection_budget checks
# the rendering agrees): the relays LISTEN for new outbox rows, and the articles API's
# read cache PREPAREs a statement per connection. Migrations (DDL) always go direct too.
NEEDS_SESSION = frozenset({("users", "relay"), ("articles", "relay"), ("articles", "api")})


@dataclass(frozen=True)
class Budget:
    """Connections one service's database may see, by who opens them."""

    service: str
    by_workload: dict[str, int]
    pooled: frozenset[str]

    @property
    def total(self) -> int:
        """Every connection the service's processes may open."""
        return sum(self.by_workload.values())

    @property
    def direct(self) -> int:
        """Connections that reach PostgreSQL itself (not PgBouncer)."""
        return sum(n for w, n in self.by_workload.items() if w not in self.pooled)

    @property
    def through_pooler(self) -> int:
        """Client connections PgBouncer must accept."""
        return self.total - self.direct


def _replicas(values: dict[str, Any]) -> int:
    autoscaling = values.get("autoscaling") or {}
    return int(autoscaling["maxReplicas"] if autoscaling.get("enabled") else values["replicas"])


def budget(service: str, values: dict[str, Any]) -> Budget:
    """The worst case for `service` with its chart's (merged) `values`."""
    database = values["database"]
    per_pool = int(database["poolSize"]) + int(database["maxOverflow"])
    by_workload: dict[str, int] = {}
    for (owner, workload), engines in ENGINES.items():
        if owner != service:
            continue
        workload_values = values[workload]
        processes = int(workload_values.get("workers", 1)) * _replicas(workload_values)
        by_workload[workload] = processes * engines * per_pool
    by_workload["migration"] = 1 if values["migrations"]["enabled"] else 0
    pooled = frozenset(
        workload
        for workload in by_workload
        if (database.get("pooler") or {}).get("enabled")
        and (service, workload) in ENGINES
        and (service, workload) not in NEEDS_SESSION
    )
    return Budget(service=service, by_workload=by_workload, pooled=pooled)


def pooler_server_connections(service: str) -> tuple[int, int]:
    """(server connections to PostgreSQL, client connections accepted) of the service's
    Pooler in k8s/examples/pooler.yaml, over all its PgBouncer instances."""
    for document in yaml.safe_load_all((REPO / "k8s" / "examples" / "pooler.yaml").read_text()):
        if document and document["spec"]["cluster"]["name"] == f"newsroom-{service}-db":
            parameters = document["spec"]["pgbouncer"]["parameters"]
            instances = int(document["spec"]["instances"])
            server = int(parameters["default_pool_size"]) + int(parameters["reserve_pool_size"])
            return instances * server, instances * int(parameters["max_client_conn"])
    raise LookupError(f"k8s/examples/pooler.yaml has no Pooler for newsroom-{service}-db")


def readme_section(service: str, values: dict[str, Any]) -> str:
    """The "Database connections" section of a service chart's README."""
    direct = budget(service, values)
    pooled = budget(
        service, {**values, "database": {**values["database"], "pooler": {"enabled": True}}}
    )
    server, clients = pooler_server_connections(service)
    rows = "\n".join(f"| {w} | {n} |" for w, n in direct.by_workload.items())
    verdict = "fits within" if direct.total <= USABLE_CONNECTIONS else "**exceeds**"
    per_pool = int(values["database"]["poolSize"]) + int(values["database"]["maxOverflow"])
    with_pooler = server + pooled.direct
    pooled_names = " and ".join(sorted(pooled.pooled))
    direct_names = ", ".join(w for w in direct.by_workload if w not in pooled.pooled)
    if with_pooler <= USABLE_CONNECTIONS:
        pooler_verdict = "within the limit"
    else:
        pooler_verdict = (
            f"**still over the limit**: the {direct_names} connections must shrink (fewer "
            "`maxReplicas` or `workers`, smaller pools) or `max_connections` grow"
        )
    return f"""## Database connections

Worst case with the defaults, every HPA at its `maxReplicas` (each process opens at
most `poolSize + maxOverflow` = {per_pool} connections per SQLAlchemy pool):

| opened by | connections |
|---|---|
{rows}
| **total** | **{direct.total}** |

That {verdict} PostgreSQL's default `max_connections` {MAX_CONNECTIONS}
({USABLE_CONNECTIONS} after the superuser reserve). Either raise `max_connections` (and
the database's memory) to the total, lower `maxReplicas`/`workers`/the pool sizes, or
put PgBouncer in front: `k8s/examples/pooler.yaml` (a CloudNativePG `Pooler`,
transaction mode) with `database.pooler.enabled=true`. Then the pooled workloads
({pooled_names}) open their {pooled.through_pooler} client connections to PgBouncer (it
accepts {clients}),
while the workloads that need a session of their own and the migration Job
({direct_names}) keep {pooled.direct} direct ones; PostgreSQL sees at most {server} from
the pooler plus those: {with_pooler}, {pooler_verdict}.
`tests/deploy/test_connection_budget.py` recomputes these figures.
"""
