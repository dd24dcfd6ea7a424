"""The faults of `make chaos`, each run under the mixed load, measured and judged by its goal."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsroom_devstack.postgres import PostgresCluster
from newsroom_devstack.stack import Stack

from .downstream import (
    Delivery,
    article_deliveries,
    counted_views,
    profile_deliveries,
    wait_for,
)
from .load import NEEDS_USERS, WRITES, Account, Client, Load, Outcome

PHASES = ("before", "fault", "after")
BASELINE_SECONDS = 10.0
AFTER_SECONDS = 20.0
# How long delivered events and counted views may take to show up once the load stops.
CONVERGE_SECONDS = 90.0
# nginx keeps an instance it could not reach out of rotation for fail_timeout (10 s by default);
# a rolling restart waits that long after each instance is ready, as Kubernetes' minReadySeconds.
ROLLING_PAUSE_SECONDS = 11.0
READS = frozenset({"list", "view", "counts", "tags"})
# Scenarios whose fault is to stop processes: elsewhere a changed PID is a crash.
RESTARTS_ON_PURPOSE = frozenset({"instance-kill", "rolling-restart", "users-down"})


@dataclass
class Context:
    """The stack under test and what every scenario needs from it."""

    stack: Stack
    client: Client
    writers: Sequence[Account]
    rate: float
    threads: int


@dataclass
class Result:
    """One scenario's figures and verdict."""

    name: str
    goal: str
    outcomes: list[Outcome]
    fault_started: float
    fault_ended: float
    articles: Delivery
    profiles: Delivery
    views_served: int
    views_counted: int
    views_converged_in: float
    events_converged_in: float
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def in_phase(self, phase: str) -> list[Outcome]:
        """Return the requests that started in a phase."""
        return [o for o in self.outcomes if o.phase == phase]

    @property
    def failed(self) -> list[Outcome]:
        """Return every failed request."""
        return [o for o in self.outcomes if not o.ok]

    @property
    def recovery_seconds(self) -> float:
        """Return how long after the fault ended requests still failed (0: none did)."""
        late = [o.finished for o in self.failed if o.finished >= self.fault_started]
        return max(0.0, max(late, default=self.fault_ended) - self.fault_ended)

    @property
    def passed(self) -> bool:
        """Tell whether the scenario met its goal."""
        return not self.problems


@dataclass(frozen=True)
class Scenario:
    """A fault: `inject` runs it (switching nothing else) and returns when it is over."""

    name: str
    title: str
    goal: str
    inject: Callable[[Context], None]
    judge: Callable[[Result, Context], None]


# --- the faults ---------------------------------------------------------------------------


def kill_broker(ctx: Context) -> None:
    """SIGKILL the broker, leave it down 30 s, start it again."""
    ctx.stack.kafka.kill()
    time.sleep(30)
    ctx.stack.kafka.start()


def pause_broker(ctx: Context) -> None:
    """SIGSTOP the broker for 30 s: its sockets stay open and nothing answers."""
    ctx.stack.kafka.pause()
    time.sleep(30)
    ctx.stack.kafka.resume()


def restart_database(ctx: Context) -> None:
    """Restart PostgreSQL (fast shutdown: every connection is cut) and wait until it answers."""
    postgres = ctx.stack.postgres
    assert isinstance(postgres, PostgresCluster), "needs the devstack's own PostgreSQL"
    postgres.restart()


def kill_articles_instance(ctx: Context) -> None:
    """SIGKILL one of the two articles instances; bring it back 15 s later."""
    name = api_names(ctx.stack, "articles")[0]
    ctx.stack.process(name).kill()
    time.sleep(15)
    ctx.stack.restart(name)


def rolling_restart(ctx: Context) -> None:
    """SIGTERM and start again every process of every service, one at a time."""
    for service in ("users", "articles", "views"):
        for name in api_names(ctx.stack, service):
            ctx.stack.restart(name)
            time.sleep(ROLLING_PAUSE_SECONDS)
        for name in worker_names(ctx.stack, service):
            ctx.stack.restart(name)


def stop_users(ctx: Context) -> None:
    """Stop every users process (SIGTERM) for a minute, then start them again."""
    names = [*api_names(ctx.stack, "users"), *worker_names(ctx.stack, "users")]
    for name in names:
        ctx.stack.process(name).stop()
    time.sleep(60)
    for name in names:
        ctx.stack.restart(name)


# --- the goals ----------------------------------------------------------------------------


def judge_broker(result: Result, ctx: Context) -> None:
    """Writes and reads 0 failed, 0 domain events lost, views 0 lost and 0 counted twice."""
    failed_writes = [o for o in result.failed if o.kind in WRITES]
    failed_reads = [o for o in result.failed if o.kind not in WRITES]
    if failed_writes:
        result.problems.append(f"{len(failed_writes)} writes failed")
    if failed_reads:
        result.problems.append(f"{len(failed_reads)} reads failed")
    judge_deliveries(result)
    if result.views_counted < result.views_served:
        result.problems.append(f"{result.views_served - result.views_counted} views lost")
    if result.views_counted > result.views_served:
        result.problems.append(f"{result.views_counted - result.views_served} views counted twice")


def judge_database(result: Result, ctx: Context) -> None:
    """Back to 0 errors within 5 s of the database, and no process restarted."""
    if result.recovery_seconds > 5.0:
        result.problems.append(f"errors for {result.recovery_seconds:.1f}s after the database")
    judge_deliveries(result)


def judge_instance_kill(result: Result, ctx: Context) -> None:
    """At most 0.1% of requests failed, and no write happened twice."""
    share = len(result.failed) / max(1, len(result.outcomes))
    if share > 0.001:
        result.problems.append(f"{share:.2%} of requests failed")
    judge_deliveries(result)


def judge_rolling(result: Result, ctx: Context) -> None:
    """0 failed requests."""
    if result.failed:
        result.problems.append(f"{len(result.failed)} requests failed")
    judge_deliveries(result)


def judge_users_down(result: Result, ctx: Context) -> None:
    """Article and views reads 0 failed; what needs users fails fast, as JSON, with a 5xx."""
    failed_reads = [o for o in result.failed if o.kind in READS]
    if failed_reads:
        result.problems.append(f"{len(failed_reads)} article or views reads failed")
    refused = [o for o in result.failed if o.kind in NEEDS_USERS]
    slow = [o for o in refused if o.latency > 1.0]
    not_json = [o for o in refused if not o.json_body]
    odd = sorted({o.status for o in refused if o.status not in (502, 503)})
    statuses = sorted({o.status for o in refused})
    result.notes.append(
        f"requests needing users refused: {len(refused)}, statuses {statuses}, "
        f"slowest {max((o.latency for o in refused), default=0):.3f}s"
    )
    if slow:
        result.problems.append(f"{len(slow)} refusals took over 1 s")
    if not_json:
        result.problems.append(f"{len(not_json)} refusals were not JSON")
    if odd:
        result.problems.append(f"refusals with statuses {odd}")
    other = [o for o in result.failed if o.kind not in NEEDS_USERS and o.kind not in READS]
    if other:
        result.problems.append(f"{len(other)} writes not needing users failed")
    judge_deliveries(result)


def judge_deliveries(result: Result) -> None:
    """Every acknowledged write has its event downstream, and none was written twice."""
    for what, delivery in (("article", result.articles), ("profile", result.profiles)):
        if delivery.lost:
            result.problems.append(f"{delivery.lost} acknowledged {what} writes without an event")
        if delivery.repeated:
            result.problems.append(f"{delivery.repeated} {what} writes happened twice")


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "broker-kill",
        "Kafka broker SIGKILLed for 30 s, then restarted",
        "writes and reads 0 failed; 0 events lost; views 0 lost, 0 counted twice",
        kill_broker,
        judge_broker,
    ),
    Scenario(
        "broker-pause",
        "Kafka broker SIGSTOPped for 30 s, then SIGCONT",
        "writes and reads 0 failed; 0 events lost; views 0 lost, 0 counted twice",
        pause_broker,
        judge_broker,
    ),
    Scenario(
        "database-restart",
        "PostgreSQL restarted (the cluster holding the articles database)",
        "0 errors within 5 s of the database being back; no process restarts",
        restart_database,
        judge_database,
    ),
    Scenario(
        "instance-kill",
        "one of the two articles instances SIGKILLed, started again 15 s later",
        "at most 0.1% failed requests, no write repeated",
        kill_articles_instance,
        judge_instance_kill,
    ),
    Scenario(
        "rolling-restart",
        "every process of every service SIGTERMed and started again, one at a time",
        "0 failed requests",
        rolling_restart,
        judge_rolling,
    ),
    Scenario(
        "users-down",
        "every users process stopped for 60 s",
        "article and views reads 0 failed; requests needing users fail fast as JSON",
        stop_users,
        judge_users_down,
    ),
)


# --- running one --------------------------------------------------------------------------


def run(scenario: Scenario, ctx: Context, *, log: Callable[[str], None]) -> Result:
    """Run one scenario under load and measure what it did."""
    targets = publish_targets(ctx, scenario.name)
    before = process_tree(ctx.stack)
    load = Load(
        ctx.stack.gateway_url,
        writers=ctx.writers,
        targets=targets,
        threads=ctx.threads,
        rate=ctx.rate,
    )
    load.start()
    time.sleep(BASELINE_SECONDS)
    load.phase = "fault"
    log(f"  fault: {scenario.title}")
    fault_started = time.monotonic()
    try:
        scenario.inject(ctx)
    finally:
        fault_ended = time.monotonic()
        load.phase = "after"
    log(f"  fault over after {fault_ended - fault_started:.1f}s; load continues")
    time.sleep(AFTER_SECONDS)
    load.stop()
    ledger = load.ledger
    log("  load stopped; waiting for events and views downstream")
    bootstrap = ctx.stack.kafka.bootstrap_servers
    articles = profiles = Delivery(0, 0, 0)

    def delivered() -> bool:
        nonlocal articles, profiles
        articles = article_deliveries(bootstrap, ledger.published)
        profiles = profile_deliveries(bootstrap, ledger.bios)
        return articles.lost == 0 and profiles.lost == 0

    _, delivered_in = wait_for(delivered, timeout=CONVERGE_SECONDS, interval=3.0)
    served = sum(ledger.views_served.values())
    counted = -1

    def views_in() -> bool:
        nonlocal counted
        counted = counted_views(ctx.client, targets)
        return counted >= served

    _, converged_in = wait_for(views_in, timeout=CONVERGE_SECONDS)
    # Late duplicates would land after the count first matched: look once more.
    time.sleep(3)
    counted = max(counted, counted_views(ctx.client, targets))
    result = Result(
        name=scenario.name,
        goal=scenario.goal,
        outcomes=list(ledger.outcomes),
        fault_started=fault_started,
        fault_ended=fault_ended,
        articles=articles,
        profiles=profiles,
        views_served=served,
        views_counted=counted,
        views_converged_in=converged_in,
        events_converged_in=delivered_in,
    )
    after = process_tree(ctx.stack)
    restarted = sorted(name for name in before if before[name] != after.get(name))
    if restarted and scenario.name not in RESTARTS_ON_PURPOSE:
        result.problems.append(f"processes restarted: {', '.join(restarted)}")
    result.notes.append(f"processes restarted: {', '.join(restarted) or 'none'}")
    scenario.judge(result, ctx)
    return result


def publish_targets(ctx: Context, scenario: str, count: int = 3) -> list[str]:
    """Publish fresh articles for the scenario's views; wait until the views service knows them."""
    slugs = []
    for i in range(count):
        status, slug = ctx.client.publish(ctx.writers[0], f"{scenario} target {i} {time.time_ns()}")
        if slug is None:
            raise RuntimeError(f"publishing a target article: {status}")
        slugs.append(slug)
    known, _ = wait_for(lambda: counted_views(ctx.client, slugs) == 0, timeout=60, interval=0.5)
    if not known:
        raise RuntimeError("the views service did not learn of the target articles in 60 s")
    return slugs


def api_names(stack: Stack, service: str) -> list[str]:
    """Return the process names of a service's API instances."""
    count = len(stack.api_ports[service])
    if count == 1:
        return [f"{service}-api"]
    return [f"{service}-api-{i}" for i in range(1, count + 1)]


def worker_names(stack: Stack, service: str) -> list[str]:
    """Return the process names of a service's workers (relay, consume)."""
    return [
        p.name
        for p in stack.supervisor.processes()
        if p.name.startswith(f"{service}-")
        and not p.name.startswith(f"{service}-api")
        and not p.name.endswith("-migrate")
    ]


def process_tree(stack: Stack) -> dict[str, tuple[int | None, frozenset[int]]]:
    """Return each service process's PID and its children's (gunicorn workers), to spot restarts."""
    tree = {}
    for process in stack.supervisor.processes():
        if process.name.endswith("-migrate") or process.name in {"postgres", "kafka", "gateway"}:
            continue
        pid = process.pid if process.is_running() else None
        tree[process.name] = (pid, _children(pid))
    return tree


def _children(pid: int | None) -> frozenset[int]:
    if pid is None:
        return frozenset()
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return frozenset()
    return frozenset(int(p) for p in text.split())
