"""Resident memory of the stack's processes, read from /proc after the run."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

PROC = Path("/proc")


@dataclasses.dataclass(frozen=True)
class ProcessMemory:
    """One process's memory in MiB: resident (RSS), proportional (PSS: pages shared with other
    processes, libraries above all, split among them) and unique (USS: what it alone holds)."""

    name: str
    pid: int
    rss_mib: float
    pss_mib: float
    uss_mib: float = 0.0


def _field_kib(text: str, field: str) -> float:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return 0.0


def read(name: str, pid: int, proc: Path = PROC) -> ProcessMemory | None:
    """Memory of one process, None if it is gone."""
    try:
        status = (proc / str(pid) / "status").read_text()
        rollup = (proc / str(pid) / "smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return ProcessMemory(
        name=name,
        pid=pid,
        rss_mib=_field_kib(status, "VmRSS") / 1024,
        pss_mib=_field_kib(rollup, "Pss") / 1024,
        uss_mib=(_field_kib(rollup, "Private_Clean") + _field_kib(rollup, "Private_Dirty")) / 1024,
    )


def children(pid: int, proc: Path = PROC) -> list[int]:
    """PIDs whose parent is pid (gunicorn's workers of its master)."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # The command name sits in parentheses and may hold spaces: fields follow the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def workers(processes: dict[str, int]) -> list[ProcessMemory]:
    """Memory of each API's gunicorn workers and of each background worker process.

    processes maps a stack process name (users-api, articles-relay...) to its PID; an
    API's own PID is gunicorn's master, whose children serve the requests.
    """
    found = []
    for name, pid in sorted(processes.items()):
        if name.endswith("-api") or "-api-" in name:
            for i, child in enumerate(children(pid), 1):
                memory = read(f"{name} worker {i}", child)
                if memory is not None:
                    found.append(memory)
        else:
            memory = read(name, pid)
            if memory is not None:
                found.append(memory)
    return found


# What an articles API worker imports, heaviest first: the floor under its resident memory.
IMPORTS = (
    "flask",
    "sqlalchemy",
    "sqlalchemy.dialects.postgresql.psycopg2",
    "kafka",
    "nacl.signing",
    "urllib3",
    "prometheus_client",
    "opentelemetry.sdk.trace",
    "gunicorn.workers.gthread",
    "newsroom_articles.entrypoints.app",
)

_FLOOR_SCRIPT = """
import importlib, json, sys
def rss():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:")) / 1024
steps = [["python", rss()]]
for name in sys.argv[1:]:
    importlib.import_module(name)
    steps.append([name, rss()])
print(json.dumps(steps))
"""


def import_floor(imports: tuple[str, ...] = IMPORTS) -> list[tuple[str, float]]:
    """RSS (MiB) a fresh interpreter reaches importing each module in turn, before any request.

    The difference between steps is what each import adds (its own modules and those of
    the standard library it is first to need).
    """
    done = subprocess.run(
        [sys.executable, "-c", _FLOOR_SCRIPT, *imports],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [(str(name), float(rss)) for name, rss in json.loads(done.stdout)]


@dataclasses.dataclass(frozen=True)
class WorkerCount:
    """One API instance run with `workers` gunicorn workers, measured after a short load."""

    workers: int
    largest_rss_mib: float
    mean_pss_mib: float
    requests_per_s: float


def by_worker_count(
    measure: Callable[[int], tuple[list[ProcessMemory], float]], counts: Sequence[int]
) -> list[WorkerCount]:
    """RSS and PSS of one API's workers for each worker count (`measure` starts, loads, reads)."""
    found = []
    for count in counts:
        memories, rate = measure(count)
        if not memories:
            continue
        found.append(
            WorkerCount(
                workers=count,
                largest_rss_mib=max(m.rss_mib for m in memories),
                mean_pss_mib=sum(m.pss_mib for m in memories) / len(memories),
                requests_per_s=rate,
            )
        )
    return found
