"""`newsroom-bench` (`make bench`): start a stack, seed it, measure, report.

One run measures the ceiling (a hello-world Flask app), every endpoint of issue 8
through the gateway, the views and outbox pipelines and the workers' memory, then
writes report.md, results.json and the charts into bench-results/<time>/.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsroom_bench import cpu, hello, load, memory, pipeline, profiles, report, seed
from newsroom_bench.load import LoadResult, Scenario
from newsroom_common.database_url import DatabaseUrlError, psycopg2_url
from newsroom_devstack import services as services_table
from newsroom_devstack.gateway import UNLIMITED
from newsroom_devstack.net import LOOPBACK, free_port, http_ok
from newsroom_devstack.paths import cache_dir, repo_root, var_dir
from newsroom_devstack.stack import Stack, StackOptions
from newsroom_devstack.supervisor import Supervisor

READ_RATE = 1000.0
JSON = {"Content-Type": "application/json"}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] bench: {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    """Facts about the machine and its load, for the report's head."""
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    load1, load5, load15 = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores ({cpu}), {total_kib / 1024 / 1024:.0f} GiB RAM",
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "load average before the run (1, 5, 15 min)": f"{load1:.2f}, {load5:.2f}, {load15:.2f}",
        "load generator": f"wrk ({load.CONNECTIONS} connections, 1 thread), on the same machine",
    }


@dataclasses.dataclass
class Target:
    """Where the measured platform answers."""

    gateway_url: str
    views_url: str
    bootstrap_servers: str | None
    views_database_url: str | None
    articles_database_url: str | None
    processes: dict[str, int] = dataclasses.field(default_factory=dict)


def _database_url_from_env(variable: str) -> str | None:
    """The URL in `variable`, if set, checked as the services check theirs."""
    raw = os.environ.get(variable)
    if not raw:
        return None
    try:
        psycopg2_url(raw, variable=variable)
    except DatabaseUrlError as error:
        raise SystemExit(f"newsroom-bench: {error}") from None
    return raw


def start_stack(
    run_dir: Path,
    supervisor: Supervisor,
    *,
    worker_class: str = "gthread",
    workers: int | None = None,
    instances: int = 1,
) -> tuple[Stack, Target]:
    """Start a private stack without rate limits: the services' own worker counts and
    gthread workers unless told otherwise, `instances` API instances per service."""
    prefixes = [service.env_prefix for service in services_table.SERVICES]
    options = StackOptions(
        api_workers=workers,
        log_level="WARNING",
        gateway=UNLIMITED,
        api_ports={
            service.name: [free_port() for _ in range(instances)]
            for service in services_table.SERVICES
        },
        extra_env={f"{prefix}WORKER_CLASS": worker_class for prefix in prefixes},
    )
    stack = Stack(run_dir, cache_dir(), supervisor=supervisor, options=options)
    # The devstack pipes Nginx's access log to a Python thread that copies it to a file: at
    # thousands of cached answers a second that thread, on the same two cores, would be
    # measured too. Nginx writes the file itself here, as it would in production.
    gateway_values = stack.gateway.values
    access_log = str(run_dir / "logs" / "gateway-access.log")
    setattr(  # noqa: B010 (an instance's method, replaced on purpose)
        stack.gateway,
        "values",
        lambda: {**gateway_values(), "GATEWAY_ACCESS_LOG": access_log},
    )
    stack.start()
    processes = {p.name: p.pid for p in supervisor.processes() if p.pid and p.is_running()}
    target = Target(
        gateway_url=stack.gateway_url,
        views_url=stack.service_url("views"),
        bootstrap_servers=stack.kafka.bootstrap_servers,
        views_database_url=stack.postgres.database_url("views"),
        articles_database_url=stack.postgres.database_url("articles"),
        processes=processes,
    )
    return stack, target


def scenarios(dataset: seed.Dataset) -> dict[str, Scenario]:
    """The endpoints of issue 8, each as wrk will drive it."""
    reader = {"Authorization": f"Token {dataset.reader_token}"}
    author = {"Authorization": f"Token {dataset.author_tokens[0]}", **JSON}
    pages = [f"/api/articles?limit=20&offset={o}" for o in range(0, 100, 20)]
    feed_pages = [f"/api/articles/feed?limit=20&offset={o}" for o in range(0, 100, 20)]
    reads = read_slugs(dataset)
    article = (
        '{"article":{"title":"Load %d-%d ' + dataset.run_tag + '","description":"bench",'
        '"body":"' + seed.BODY + '","tagList":["load"]}}'
    )
    # The body is a Lua format string: a literal % is written %%.
    login = json.dumps(
        {"user": {"email": dataset.reader_email, "password": seed.PASSWORD}}
    ).replace("%", "%%")
    return {
        report.LIST_AUTH: Scenario("list-auth", "GET", pages, reader),
        report.LIST_ANON: Scenario("list-anon", "GET", pages),
        report.SINGLE: Scenario("single", "GET", [f"/api/articles/{s}" for s in reads], reader),
        report.TAGS: Scenario("tags", "GET", ["/api/tags"], reader),
        report.FEED: Scenario("feed", "GET", feed_pages, reader),
        report.CREATE: Scenario("create", "POST", ["/api/articles"], author, body=article),
        report.FAVORITE: Scenario(
            "favorite",
            "POST",
            [f"/api/articles/{s}/favorite" for s in reads],
            {**reader, **JSON},
        ),
        report.LOGIN: Scenario("login", "POST", ["/api/users/login"], JSON, body=login),
    }


def read_slugs(dataset: seed.Dataset) -> list[str]:
    """The articles the load reads: the first half; read-to-count probes use the others."""
    return dataset.slugs[: len(dataset.slugs) // 2]


def probe_slugs(dataset: seed.Dataset) -> list[str]:
    """Articles no load scenario reads, each read once by the read-to-count probe."""
    return dataset.slugs[len(dataset.slugs) // 2 :]


class Profiler:
    """py-spy on the articles API workers while a chosen scenario runs (--profile)."""

    def __init__(
        self, folder: Path, processes: dict[str, int], wanted: Sequence[str], *, gil: bool = False
    ) -> None:
        self.folder = folder
        self.wanted = set(wanted)
        # Only samples of threads holding the GIL: Python's CPU, without the waits.
        self.gil = gil
        self.pids = {
            name: pid for name, pid in processes.items() if name.endswith("-api") or "-api-" in name
        }

    def record(self, scenario: Scenario, seconds: float) -> subprocess.Popen[bytes] | None:
        """Start py-spy on every API's workers for the scenario's duration, if it is wanted."""
        if scenario.name not in self.wanted and "all" not in self.wanted:
            return None
        py_spy = Path(sys.executable).parent / "py-spy"
        service = "users" if scenario.name == "login" else "articles"
        pid = self.pids.get(f"{service}-api")
        if pid is None:
            return None
        suffix = profiles.GIL_SUFFIX if self.gil else ""
        output = self.folder / f"profile-{scenario.name}{suffix}.txt"
        argv = [
            str(py_spy), "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
            "--duration", str(max(1, round(seconds - 1))), "--format", "raw",
            "--output", str(output), *(["--gil"] if self.gil else []),
        ]  # fmt: skip
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(
    scenario: Scenario,
    base_url: str,
    *,
    seconds: float,
    profiler: Profiler | None = None,
    processes: dict[str, int] | None = None,
) -> LoadResult:
    """Warm up briefly, then run the scenario for the fixed time (and again under py-spy).

    py-spy takes a third of a core while it samples: the measured run goes without it,
    and a profile comes from a run of its own after, whose figures are not kept.
    """
    load.run(scenario, base_url, seconds=2)
    before = cpu.snapshot(processes or {})
    result = load.run(scenario, base_url, seconds=seconds)
    if processes:
        spent = cpu.per_request(before, cpu.snapshot(processes), result.requests)
        result = dataclasses.replace(result, cpu_ms=spent)
    spy = profiler.record(scenario, seconds) if profiler is not None else None
    if spy is not None:
        load.run(scenario, base_url, seconds=seconds)
        spy.wait(timeout=60)
    _log(
        f"{scenario.name}: {result.rate:,.0f}/s, p99 {result.latency_ms['p99']:.1f} ms, "
        f"{result.non_2xx + result.socket_errors} errors"
    )
    return result


def run(args: argparse.Namespace) -> report.Results:
    """Everything but the report's files."""
    out = Path(args.out)
    run_dir = var_dir() / f"bench-{os.getpid()}"
    supervisor = Supervisor(run_dir)
    results: report.Results | None = None
    stack: Stack | None = None
    try:
        facts = machine()
        _log(f"machine: {facts}")
        ceiling = hello.Ceiling(supervisor)
        ceiling.start()
        if args.gateway_url:
            target = Target(
                gateway_url=args.gateway_url,
                views_url=args.gateway_url,
                bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                views_database_url=_database_url_from_env("VIEWS_DATABASE_URL"),
                articles_database_url=_database_url_from_env("ARTICLES_DATABASE_URL"),
            )
        else:
            _log(f"starting a stack in {run_dir}")
            stack, target = start_stack(
                run_dir,
                supervisor,
                worker_class=args.worker_class,
                workers=args.workers,
                instances=args.instances,
            )
            workers = f"{args.workers} workers" if args.workers else "its default 2 workers"
            threads = " x 4 threads" if args.worker_class == "gthread" else ""
            facts["stack"] = (
                f"the bench's own devstack: every service with {args.instances} API "
                f"instance(s) of {workers} ({args.worker_class}{threads}), one Nginx worker, "
                "PostgreSQL with fsync and synchronous_commit off"
            )
        seconds = args.seconds
        _log(f"ceiling: {ceiling.url}")
        results = report.Results(
            machine=facts,
            ceiling_before=measure(
                Scenario("ceiling", "GET", ["/"]), ceiling.url.rstrip("/"), seconds=seconds
            ),
        )
        plan = seed.Plan.for_articles(args.articles)
        dataset = seed.seed(target.gateway_url, plan, log=_log)
        if target.articles_database_url is not None:
            # As the bulk top-up does before the measure at scale (seed.settle says why).
            seed.settle(target.articles_database_url)
        results.articles = plan.articles
        results.seeding = {
            "authors": f"{plan.authors:,}",
            "readers": f"{plan.readers}",
            "favorites": f"~{plan.favorites:,}",
            "comments": f"{plan.comments:,}",
            "seeded through the API in": f"{dataset.seconds:.0f} s",
        }
        folder = out / "profiles"
        folder.mkdir(parents=True, exist_ok=True)
        profiler = Profiler(folder, target.processes, args.profile, gil=args.profile_gil)
        client = seed.Client(target.gateway_url)
        for name, scenario in scenarios(dataset).items():
            if args.only and scenario.name not in args.only:
                continue
            results.endpoints[name] = measure(
                scenario,
                target.gateway_url,
                seconds=seconds,
                profiler=profiler,
                processes=target.processes,
            )
        if args.pipelines and report.SINGLE in results.endpoints:
            measure_pipelines(args, results, target, dataset, client)
        else:
            results.notes.append("pipelines not measured (--no-pipelines or --only)")
        if args.scale_to and args.scale_to > plan.articles:
            grow(args, target, dataset, client)
            results.scale_articles = args.scale_to
            results.endpoints[report.LIST_AT_SCALE] = measure(
                scenarios(dataset)[report.LIST_AUTH],
                target.gateway_url,
                seconds=seconds,
                processes=target.processes,
            )
        results.ceiling_after = measure(
            Scenario("ceiling", "GET", ["/"]), ceiling.url.rstrip("/"), seconds=seconds
        )
        results.memory = memory.workers(target.processes)
        if stack is not None and args.worker_counts:
            _log(f"articles API memory with {', '.join(map(str, WORKER_COUNTS))} workers")
            results.worker_counts = memory.by_worker_count(
                lambda n: api_with_workers(stack, supervisor, dataset, n), WORKER_COUNTS
            )
        results.import_floor = memory.import_floor()
        load1, load5, load15 = os.getloadavg()
        facts["load average after the run"] = f"{load1:.2f}, {load5:.2f}, {load15:.2f}"
        if not target.processes:
            results.notes.append("memory not measured: the stack is not this run's own")
        return results
    finally:
        supervisor.stop_all()
        if results is not None and not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            _log(f"processes' logs kept in {run_dir / 'logs'}")


# Issue 20: PSS per worker with 2, 4 and 8 workers (what a bigger pod would hold per worker).
WORKER_COUNTS = (2, 4, 8)


def api_with_workers(
    stack: Stack, supervisor: Supervisor, dataset: seed.Dataset, workers: int
) -> tuple[list[memory.ProcessMemory], float]:
    """Start one more articles API with `workers` workers, load it directly, read its workers.

    The signed-in list, straight at the instance (no gateway), so that every worker serves
    and holds what serving takes; then the instance is stopped.
    """
    service = services_table.get("articles")
    port = free_port()
    name = f"articles-api-x{workers}"
    env = {
        **os.environ,
        **stack.env("articles"),
        **service.bind_env(port),
        "ARTICLES_WORKERS": str(workers),
    }
    argv = service.api_argv(Path(sys.executable).parent, control_socket=stack.root / name)
    process = supervisor.start(name, argv, env=env)
    try:
        url = f"http://{LOOPBACK}:{port}"
        process.wait_until(lambda: http_ok(f"{url}/readyz"), what=f"{url}/readyz", timeout=60)
        scenario = scenarios(dataset)[report.LIST_AUTH]
        result = load.run(scenario, url, seconds=5)
        assert process.pid is not None
        return memory.workers({name: process.pid}), result.rate
    finally:
        supervisor.stop([name])


def measure_pipelines(
    args: argparse.Namespace,
    results: report.Results,
    target: Target,
    dataset: seed.Dataset,
    client: seed.Client,
) -> None:
    """Views ingestion, read-to-count latency at a steady read rate, outbox latency."""
    if target.bootstrap_servers and target.views_database_url:
        _log(f"views ingestion: {args.views_events:,} events (newsroom_bench.views_ingestion)")
        try:
            results.ingestion = pipeline.views_ingestion(
                database_url=target.views_database_url,
                bootstrap_servers=target.bootstrap_servers,
                events=args.views_events,
            )
            _log(f"views ingestion ratio {results.ingestion.ratio:.2f}")
        # The views benchmark is its owner's code: its failure costs this measure, not the run.
        except Exception as error:
            results.notes.append(f"views ingestion failed: {error!r}")
            _log(f"views ingestion failed: {error!r}")
    else:
        results.notes.append("views ingestion not measured: no KAFKA_BOOTSTRAP_SERVERS")
    # Each of the 32 connections waits between reads so that together they read ~1,000/s.
    single = results.endpoints[report.SINGLE]
    connections = load.CONNECTIONS
    delay = max(1, round(connections * 1000 / READ_RATE - single.latency_ms["mean"]))
    reads = dataclasses.replace(scenarios(dataset)[report.SINGLE], name="reads", delay_ms=delay)
    seconds = args.seconds
    background: dict[str, LoadResult] = {}

    def steady_reads() -> None:
        background["reads"] = load.run(reads, target.gateway_url, seconds=seconds + 4)

    thread = threading.Thread(target=steady_reads, name="steady-reads")
    thread.start()
    time.sleep(2)
    results.read_to_count = pipeline.read_to_count(
        client,
        target.views_url,
        probe_slugs(dataset),
        seconds=seconds,
        token=dataset.reader_token,
    )
    thread.join()
    results.read_rate = background.get("reads")
    _log(f"read-to-count: {results.read_to_count.to_json()}")
    if target.bootstrap_servers:
        results.outbox = pipeline.outbox_latency(
            client, target.bootstrap_servers, dataset, log=_log
        )
        _log(f"outbox: {results.outbox.to_json()}")
    else:
        results.notes.append("outbox latency not measured: no KAFKA_BOOTSTRAP_SERVERS")


def grow(
    args: argparse.Namespace, target: Target, dataset: seed.Dataset, client: seed.Client
) -> None:
    """Bring the dataset to --scale-to articles, in bulk or through the API."""
    if args.seed == "api" or (args.seed == "auto" and args.scale_to <= 10_000):
        more = seed.Plan.for_articles(args.scale_to - len(dataset.slugs))
        seed.seed(target.gateway_url, dataclasses.replace(more, readers=1), log=_log)
        return
    if target.articles_database_url is None:
        raise SystemExit("bulk seeding needs ARTICLES_DATABASE_URL (or the bench's own stack)")
    seed.top_up(target.articles_database_url, total=args.scale_to, log=_log)


def write(results: report.Results, out: Path) -> Path:
    """Write report.md, results.json and the charts into a new folder; return it."""
    folder = out / dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    recorded = out / "profiles"
    if recorded.is_dir():
        for profile in recorded.iterdir():
            profile.rename(folder / profile.name)
        recorded.rmdir()
    names = report.charts(results, folder)
    text = report.markdown(results, charts=names) + profiles.markdown(folder)
    (folder / "report.md").write_text(text)
    (folder / "results.json").write_text(json.dumps(_plain(results), indent=2, default=str))
    return folder


def _plain(results: report.Results) -> dict[str, Any]:
    data: dict[str, Any] = {
        "machine": results.machine,
        "ceiling": results.ceiling,
        "endpoints": {k: v.to_json() for k, v in results.endpoints.items()},
        "ceiling_runs": [
            r.to_json() for r in (results.ceiling_before, results.ceiling_after) if r is not None
        ],
        "targets": [
            {"measure": v.target.measure, "goal": v.target.goal, "value": v.value, "met": v.met}
            for v in report.verdicts(results)
        ],
        "memory": [dataclasses.asdict(m) for m in results.memory],
        "import_floor_mib": dict(results.import_floor),
    }
    if results.ingestion is not None:
        data["ingestion"] = dataclasses.asdict(results.ingestion)
    for name in ("read_to_count", "outbox"):
        latencies = getattr(results, name)
        if latencies is not None:
            data[name] = latencies.to_json()
    return data


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="newsroom-bench", description=__doc__.split("\n")[0])
    parser.add_argument("--gateway-url", help="measure this gateway instead of a private stack")
    parser.add_argument("--articles", type=int, default=1000, help="articles to seed (1000)")
    parser.add_argument(
        "--scale-to",
        type=int,
        default=100_000,
        help="grow to this many articles and measure the list again (0: do not grow)",
    )
    parser.add_argument(
        "--seed",
        choices=("auto", "api", "bulk"),
        default="auto",
        help="how to grow: through the API, or bulk SQL (auto: bulk above 10,000)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load run")
    parser.add_argument("--views-events", type=int, default=50_000)
    parser.add_argument(
        "--profile",
        nargs="*",
        default=[],
        help="py-spy the APIs during these scenarios (list-auth, single, create, login, all...)",
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="profile only threads holding the GIL (Python's CPU time, no waits)",
    )
    parser.add_argument(
        "--worker-class",
        choices=("gthread", "sync", "gevent"),
        default="gthread",
        help="gunicorn worker class of every API (<P>_WORKER_CLASS; default gthread)",
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers per API instance")
    parser.add_argument(
        "--instances", type=int, default=1, help="API instances per service behind the gateway"
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        help="measure only these scenarios (list-auth, create, feed...): the worker-model and "
        "scale runs",
    )
    parser.add_argument(
        "--no-pipelines",
        dest="pipelines",
        action="store_false",
        help="skip views ingestion, read-to-count and outbox latency",
    )
    parser.add_argument(
        "--no-worker-counts",
        dest="worker_counts",
        action="store_false",
        help="skip the articles API's memory with 2, 4 and 8 workers",
    )
    parser.add_argument("--out", default=str(repo_root() / "bench-results"))
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder and logs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `newsroom-bench`."""
    args = parse_args(argv)
    load.wrk_binary()
    results = run(args)
    folder = write(results, Path(args.out))
    print(report.summary(results))
    print(f"report: {folder / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
