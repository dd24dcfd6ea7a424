"""Resident memory of the stack's processes, read from /proc after the run."""

from __future__ import annotations

import dataclasses
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
