"""The tables of `make chaos`: per scenario, as plain text for the terminal and as Markdown."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from pathlib import Path

from .scenarios import PHASES, Result

# Failures shown per scenario (time from the fault's start, status, request and answer).
SAMPLES = 5


def rows(result: Result) -> list[tuple[str, str]]:
    """Return the scenario's figures as (what, value) rows."""
    lines: list[tuple[str, str]] = []
    for phase in PHASES:
        done = result.in_phase(phase)
        failed = [o for o in done if not o.ok]
        kinds = sorted({o.kind for o in failed})
        detail = f" ({', '.join(kinds)})" if kinds else ""
        seconds = _phase_seconds(result, phase)
        lines.append(
            (
                f"requests {phase} ({seconds:.0f}s)",
                f"{len(done)} attempted, {len(failed)} failed{detail}",
            )
        )
    statuses = sorted({o.status for o in result.failed})
    lines.append(("failure statuses", ", ".join(str(s) for s in statuses) or "-"))
    for what, delivery in (
        ("articles published", result.articles),
        ("profile updates", result.profiles),
    ):
        lines.append(
            (
                what,
                f"{delivery.acknowledged} acknowledged, {delivery.delivered} events delivered, "
                f"{delivery.repeated} repeated (settled {result.events_converged_in:.0f}s "
                "after the load)",
            )
        )
    lines.append(
        (
            "views",
            f"{result.views_served} served, {result.views_counted} counted "
            f"(counts settled {result.views_converged_in:.0f}s after the load)",
        )
    )
    lines.append(("fault lasted", f"{result.fault_ended - result.fault_started:.1f}s"))
    lines.append(("time to recover", f"{result.recovery_seconds:.1f}s after the fault ended"))
    lines.extend(("note", note) for note in result.notes)
    for outcome in result.failed[:SAMPLES]:
        at = outcome.started - result.fault_started
        lines.append(("failure sample", f"{at:+.1f}s {outcome.status} {outcome.detail}"))
    verdict = "met" if result.passed else "MISSED: " + "; ".join(result.problems)
    lines.append(("goal", f"{result.goal}: {verdict}"))
    return lines


def table(result: Result) -> str:
    """Return the scenario as an aligned text table."""
    width = max(len(what) for what, _ in rows(result))
    return "\n".join(f"  {what:<{width}}  {value}" for what, value in rows(result))


def markdown(
    results: Sequence[Result],
    *,
    info: dict[str, str],
    begun_at: dt.datetime,
    elapsed: float,
    rate: float,
) -> str:
    """Return the whole run as a Markdown report."""
    out = [
        "# `make chaos` report",
        "",
        f"Run {begun_at:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min, mixed load of about "
        f"{rate:.0f} requests/s through the gateway (two instances of every service).",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
        "| scenario | goal |",
        "|---|---|",
        *(f"| {r.name} | {'met' if r.passed else 'MISSED'} |" for r in results),
    ]
    for result in results:
        out += ["", f"## {result.name}", "", "| | |", "|---|---|"]
        out += [f"| {what} | {value} |" for what, value in rows(result)]
    return "\n".join(out) + "\n"


def machine(
    *, load_before: tuple[float, float, float], load_after: tuple[float, float, float]
) -> dict[str, str]:
    """Return what the figures depend on: CPUs, memory, load from others, versions."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{total_kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "CPU": f"{os.cpu_count()} x {cpu}",
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "load average (1 min) before / after": f"{load_before[0]:.2f} / {load_after[0]:.2f}",
    }


def _phase_seconds(result: Result, phase: str) -> float:
    done = result.in_phase(phase)
    if not done:
        return 0.0
    return max(o.started for o in done) - min(o.started for o in done)
