"""CPU time per request, by process, read from /proc around a measured run.

Requests per second say how fast; this says where the time went: the same two cores
serve Nginx, the APIs, PostgreSQL, Kafka and the pipelines' consumers, so a request's
cost is the CPU every one of them spent on it. wrk's own time is not counted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from newsroom_bench.memory import PROC

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int, proc: Path) -> list[int]:
    """pid and every process below it (gunicorn's workers, PostgreSQL's backends)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = (proc / str(current) / "task" / str(current) / "children").read_text()
        except OSError:
            continue
        pending += [int(child) for child in children.split()]
    return found


def _seconds(pid: int, proc: Path) -> float:
    """User and system CPU seconds of one process (0 if it is gone)."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    # The command name sits in parentheses and may hold spaces: fields follow the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def snapshot(processes: Mapping[str, int], proc: Path = PROC) -> dict[str, float]:
    """CPU seconds so far of each named process and its descendants."""
    return {
        name: sum(_seconds(p, proc) for p in _descendants(pid, proc))
        for name, pid in processes.items()
    }


def per_request(
    before: Mapping[str, float], after: Mapping[str, float], requests: int
) -> dict[str, float]:
    """Milliseconds of CPU per request by process, largest first (idle ones left out)."""
    if requests <= 0:
        return {}
    spent = {name: (after.get(name, 0.0) - before.get(name, 0.0)) for name in after}
    ms = {name: seconds * 1000 / requests for name, seconds in spent.items() if seconds > 0}
    return dict(sorted(ms.items(), key=lambda item: -item[1]))
