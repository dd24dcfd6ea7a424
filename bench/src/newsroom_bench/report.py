"""The report: ratios to the ceiling, the targets of issues 20 and 8, Markdown and PNG charts."""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Sequence
from pathlib import Path

from newsroom_bench.load import PERCENTILES, LoadResult
from newsroom_bench.memory import ProcessMemory, WorkerCount
from newsroom_bench.pipeline import Ingestion, Latencies
from newsroom_bench.views_ingestion import GOAL_RATIO as INGESTION_GOAL

# Endpoint names, in the order the report shows them.
LIST_AUTH = "list, authenticated"
LIST_ANON = "list, anonymous (gateway cache)"
SINGLE = "single article"
TAGS = "tags"
FEED = "feed"
CREATE = "create article"
FAVORITE = "favorite"
LOGIN = "login"
LIST_AT_SCALE = "list, authenticated, at scale"
MB_PER_MIB = 1.048576  # the 80 MB are 10^6 bytes; /proc reports KiB


@dataclasses.dataclass
class Results:
    """Everything one run measured."""

    machine: dict[str, str]
    ceiling_before: LoadResult
    ceiling_after: LoadResult | None = None
    endpoints: dict[str, LoadResult] = dataclasses.field(default_factory=dict)
    articles: int = 0
    scale_articles: int | None = None
    seeding: dict[str, str] = dataclasses.field(default_factory=dict)
    ingestion: Ingestion | None = None
    read_to_count: Latencies | None = None
    read_rate: LoadResult | None = None
    outbox: Latencies | None = None
    memory: list[ProcessMemory] = dataclasses.field(default_factory=list)
    import_floor: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    worker_counts: list[WorkerCount] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def ceiling(self) -> float:
        """The ceiling's rate: the mean of its runs before and after the rest."""
        runs = [r.rate for r in (self.ceiling_before, self.ceiling_after) if r is not None]
        return sum(runs) / len(runs)

    def ratio(self, name: str) -> float:
        """An endpoint's rate over the ceiling's; NaN if it was not measured."""
        result = self.endpoints.get(name)
        if result is None or not self.ceiling:
            return math.nan
        return result.rate / self.ceiling

    def latency_ratio(self, name: str, p: float) -> float:
        """An endpoint's latency percentile over the ceiling's (lower is better)."""
        result = self.endpoints.get(name)
        key = f"p{p:g}"
        ceiling = [r.latency_ms[key] for r in (self.ceiling_before, self.ceiling_after) if r]
        if result is None or not ceiling:
            return math.nan
        return result.latency_ms[key] / (sum(ceiling) / len(ceiling))

    def non_2xx(self) -> int:
        """Non-2xx responses and socket errors over every load run."""
        runs = [*self.endpoints.values(), self.ceiling_before]
        runs += [r for r in (self.ceiling_after, self.read_rate) if r is not None]
        return sum(r.non_2xx + r.socket_errors for r in runs)

    def scale_ratio(self) -> float:
        """The authenticated list's rate at scale over its rate at the seeded size."""
        at_scale, base = self.endpoints.get(LIST_AT_SCALE), self.endpoints.get(LIST_AUTH)
        if at_scale is None or base is None or not base.rate:
            return math.nan
        return at_scale.rate / base.rate

    def api_worker_rss(self) -> float:
        """The largest RSS of an API's gunicorn worker, MiB (NaN if not measured)."""
        rss = [m.rss_mib for m in self.memory if " worker " in m.name]
        return max(rss) if rss else math.nan

    def api_worker_pss(self) -> float:
        """The largest PSS of an API's gunicorn worker, MiB (NaN if not measured)."""
        pss = [m.pss_mib for m in self.memory if " worker " in m.name]
        return max(pss) if pss else math.nan


@dataclasses.dataclass(frozen=True)
class Target:
    """One line of issue 8's table."""

    measure: str
    goal: str
    value: Callable[[Results], float]
    compare: Callable[[float, float], bool]
    threshold: float
    unit: str = ""
    # The figure when the issue that set the goal was filed (issue 20's "now" column).
    before: str = ""

    def verdict(self, results: Results) -> Verdict:
        """Measure and judge; a measure not taken is a miss."""
        value = self.value(results)
        met = not math.isnan(value) and self.compare(value, self.threshold)
        return Verdict(target=self, value=value, met=met)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A target, its measured value and whether it is met."""

    target: Target
    value: float
    met: bool

    def shown(self) -> str:
        """The value as the report prints it."""
        if math.isnan(self.value):
            return "not measured"
        if self.target.unit == "MB":
            return f"{self.value:.1f} MB"
        if self.target.unit == "s":
            return f"{self.value:.3f} s"
        if self.target.unit == "count":
            return f"{self.value:.0f}"
        return f"{self.value:.2f}"


def _p99(get: Callable[[Results], Latencies | None]) -> Callable[[Results], float]:
    def value(results: Results) -> float:
        latencies = get(results)
        return latencies.percentile(99) if latencies is not None else math.nan

    return value


def _ratio(name: str) -> Callable[[Results], float]:
    return lambda results: results.ratio(name)


def _mb(mib: Callable[[Results], float]) -> Callable[[Results], float]:
    return lambda results: mib(results) * MB_PER_MIB


# Issue 20's table, row by row (its "now" is `before`), then issue 8's targets it left as
# they were, which must keep holding.
TARGETS: tuple[Target, ...] = (
    Target("feed, authenticated", "≥ 0.25", _ratio(FEED), operator.ge, 0.25, before="0.04"),
    Target("create article", "≥ 0.15", _ratio(CREATE), operator.ge, 0.15, before="0.03"),
    Target("single article", "≥ 0.45", _ratio(SINGLE), operator.ge, 0.45, before="0.20"),
    Target("list 20, authenticated", "≥ 0.40", _ratio(LIST_AUTH), operator.ge, 0.40, before="0.29"),
    Target(
        "views ingestion vs bare kafka-python consumer",
        f"≥ {INGESTION_GOAL:.2f}",
        lambda r: r.ingestion.ratio if r.ingestion else math.nan,
        operator.ge,
        INGESTION_GOAL,
        before="0.26",
    ),
    Target(
        "read → count p99 at 1,000 reads/s",
        "≤ 0.25 s",
        _p99(lambda r: r.read_to_count),
        operator.le,
        0.25,
        "s",
        before="0.445 s",
    ),
    Target(
        "RSS per API worker (largest)",
        "≤ 80 MB",
        _mb(lambda r: r.api_worker_rss()),
        operator.le,
        80,
        "MB",
        before="97.8 MB",
    ),
    Target(
        "PSS per API worker (largest)",
        "≤ 55 MB",
        _mb(lambda r: r.api_worker_pss()),
        operator.le,
        55,
        "MB",
        before="70.8 MB",
    ),
    Target("tags", "≥ 0.60", _ratio(TAGS), operator.ge, 0.60, before="4.72"),
    Target(
        "list of 20, anonymous, gateway cache",
        "≥ 1.5",
        _ratio(LIST_ANON),
        operator.ge,
        1.5,
        before="4.29",
    ),
    Target(
        "non-2xx responses in any run",
        "0",
        lambda r: float(r.non_2xx()),
        operator.le,
        0,
        "count",
        before="0",
    ),
    Target(
        "outbox write-to-Kafka p99",
        "≤ 0.5 s",
        _p99(lambda r: r.outbox),
        operator.le,
        0.5,
        "s",
        before="0.018 s",
    ),
    Target(
        "list throughput at 100,000 articles vs 1,000",
        "≥ 0.8",
        lambda r: r.scale_ratio(),
        operator.ge,
        0.8,
        before="0.92",
    ),
)


def verdicts(results: Results) -> list[Verdict]:
    """Every target (issue 20's table, then issue 8's), judged on these results."""
    return [target.verdict(results) for target in TARGETS]


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def markdown(results: Results, *, charts: Sequence[str] = ()) -> str:
    """The report as Markdown."""
    lines = ["# Newsroom benchmark", ""]
    lines += [f"- {key}: {value}" for key, value in results.machine.items()]
    lines += [
        f"- dataset: {results.articles:,} articles; "
        + ", ".join(f"{k} {v}" for k, v in results.seeding.items())
    ]
    if results.scale_articles:
        lines.append(f"- at scale: {results.scale_articles:,} articles")
    lines += [
        "",
        "## Targets",
        "",
        "Issue 20's table (before: when it was filed), then issue 8's other targets.",
        "",
        "| measure | before | now | goal | met |",
        "|---|---|---|---|---|",
    ]
    for verdict in verdicts(results):
        mark = "yes" if verdict.met else "**no**"
        target = verdict.target
        lines.append(
            f"| {target.measure} | {target.before} | {verdict.shown()} | {target.goal} | {mark} |"
        )
    lines += [
        "",
        "## Throughput and latency (32 keep-alive connections, latencies at the client)",
        "",
        "| endpoint | requests/s | ratio to ceiling | p50 ms | p90 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [("ceiling, before", results.ceiling_before)]
    if results.ceiling_after is not None:
        rows.append(("ceiling, after", results.ceiling_after))
    rows += list(results.endpoints.items())
    for name, run in rows:
        ratio = run.rate / results.ceiling if results.ceiling else math.nan
        lat = run.latency_ms
        lines.append(
            f"| {name} | {run.rate:,.0f} | {ratio:.2f} | {_ms(lat['p50'])} | {_ms(lat['p90'])} "
            f"| {_ms(lat['p99'])} | {run.non_2xx + run.socket_errors} |"
        )
    lines += ["", "## Pipelines", ""]
    if results.ingestion is not None:
        ing = results.ingestion
        lines.append(
            f"- views ingestion (`make bench-views`' benchmark, {ing.events:,} events, "
            f"{ing.rounds} "
            f"alternating rounds, medians): {ing.ingest_rate:,.0f} events/s next to a bare "
            f"kafka-python consumer's {ing.bare_rate:,.0f} records/s: ratio {ing.ratio:.2f}"
        )
    for label, latencies in (
        ("read-to-count", results.read_to_count),
        ("outbox write-to-Kafka", results.outbox),
    ):
        if latencies is not None:
            lines.append(
                f"- {label}: p50 {latencies.percentile(50):.3f} s, "
                f"p99 {latencies.percentile(99):.3f} s "
                f"({len(latencies.samples)} samples, {latencies.lost} lost)"
            )
    if results.read_rate is not None:
        lines.append(
            f"- reads during read-to-count: {results.read_rate.rate:,.0f}/s "
            f"(p99 {_ms(results.read_rate.latency_ms['p99'])} ms)"
        )
    lines += _cpu_table(results)
    if results.memory:
        lines += [
            "",
            "## Memory after the run",
            "",
            "| process | RSS MiB | PSS MiB | USS MiB |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {m.name} | {m.rss_mib:.1f} | {m.pss_mib:.1f} | {m.uss_mib:.1f} |"
            for m in results.memory
        ]
    if results.worker_counts:
        lines += [
            "",
            "### Articles API workers by count",
            "",
            "One more articles API, started with each number of workers and loaded with the "
            "signed-in list for 5 s straight at it (no gateway), then read:",
            "",
            "| workers | largest RSS MiB | mean PSS MiB | requests/s |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {w.workers} | {w.largest_rss_mib:.1f} | {w.mean_pss_mib:.1f} | "
            f"{w.requests_per_s:,.0f} |"
            for w in results.worker_counts
        ]
    if results.import_floor:
        lines += [
            "",
            "### What a worker holds before its first request",
            "",
            "A fresh interpreter importing what an articles API worker imports, in turn:",
            "",
            "| import | adds MiB | RSS MiB |",
            "|---|---|---|",
        ]
        previous = 0.0
        for name, rss in results.import_floor:
            lines.append(f"| `{name}` | {rss - previous:.1f} | {rss:.1f} |")
            previous = rss
    if charts:
        lines += ["", "## Charts", ""]
        lines += [f"![{Path(c).stem}]({c})" for c in charts]
    if results.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in results.notes]
    return "\n".join(lines) + "\n"


def _cpu_table(results: Results, *, columns: int = 6) -> list[str]:
    """Where each endpoint's requests spent the machine's CPU (ms per request, by process)."""
    measured = {name: run.cpu_ms for name, run in results.endpoints.items() if run.cpu_ms}
    if not measured:
        return []
    totals: dict[str, float] = {}
    for spent in measured.values():
        for process, ms in spent.items():
            totals[process] = totals.get(process, 0.0) + ms
    shown = sorted(totals, key=lambda p: -totals[p])[:columns]
    lines = [
        "",
        "## CPU per request (ms, every stack process, from /proc during each measured run)",
        "",
        "| endpoint | all | " + " | ".join(shown) + " | others |",
        "|---" * (len(shown) + 3) + "|",
    ]
    for name, spent in measured.items():
        others = sum(ms for process, ms in spent.items() if process not in shown)
        cells = [f"{spent.get(p, 0.0):.2f}" for p in shown]
        lines.append(
            f"| {name} | {sum(spent.values()):.2f} | " + " | ".join(cells) + f" | {others:.2f} |"
        )
    return lines


def summary(results: Results) -> str:
    """A few lines for the terminal."""
    lines = [f"ceiling: {results.ceiling:,.0f} requests/s"]
    for name, run in results.endpoints.items():
        lines.append(f"{name:38} {run.rate:9,.0f}/s  ratio {results.ratio(name):5.2f}")
    lines.append(f"{'':6} {'measure':46} {'before':>9} {'now':>12}  goal")
    for verdict in verdicts(results):
        mark = "met   " if verdict.met else "MISSED"
        target = verdict.target
        lines.append(
            f"{mark} {target.measure:46} {target.before:>9} {verdict.shown():>12}  {target.goal}"
        )
    for w in results.worker_counts:
        lines.append(
            f"articles API, {w.workers} workers: largest RSS {w.largest_rss_mib * MB_PER_MIB:.1f}"
            f" MB, mean PSS {w.mean_pss_mib * MB_PER_MIB:.1f} MB"
        )
    return "\n".join(lines)


def charts(results: Results, folder: Path) -> list[str]:
    """Draw throughput and latency ratios to the ceiling; return the PNG names."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    names = list(results.endpoints)
    throughput = [results.ratio(n) for n in names]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.barh(names, throughput, color="#3b6ea5")
    ax.axvline(1.0, color="#555555", linestyle="--", linewidth=1)
    ax.set_xlabel(f"requests/s as a ratio to the ceiling ({results.ceiling:,.0f}/s)")
    ax.invert_yaxis()
    for y, value in enumerate(throughput):
        ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "throughput.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    height = 0.8 / len(PERCENTILES)
    for i, p in enumerate(PERCENTILES):
        values = [results.latency_ratio(n, p) for n in names]
        ax.barh([y + i * height for y in range(len(names))], values, height, label=f"p{p:g}")
    ax.set_yticks([y + height for y in range(len(names))], names)
    ax.set_xscale("log")
    ax.set_xlabel("client latency as a ratio to the ceiling's (same percentile), log scale")
    ax.axvline(1.0, color="#555555", linestyle="--", linewidth=1)
    ax.invert_yaxis()
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "latency.png", dpi=110)
    plt.close(fig)
    return ["throughput.png", "latency.png"]
