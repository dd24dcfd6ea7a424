"""The load generator: wrk, driven by a generated Lua script, reporting JSON at the end.

wrk keeps its connections alive, is written in C (so on two cores it takes little
CPU from the servers it measures) and measures latency at the client. The Lua script
rotates through paths, gives each request its headers and a unique body where the
endpoint needs one, and prints the totals and percentiles as one JSON line.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

CONNECTIONS = 32
PERCENTILES = (50.0, 90.0, 99.0)
_MARKER = "BENCH_JSON "


class LoadGeneratorMissing(RuntimeError):
    """wrk is not installed (Debian: apt-get install wrk)."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One endpoint under load: what each request looks like."""

    name: str
    method: str
    paths: Sequence[str]
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    # A Lua format string with two %d (the thread, the request number): unique bodies.
    body: str | None = None
    # Milliseconds each connection waits between requests: paces a steady rate.
    delay_ms: int | None = None


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What wrk saw: totals, errors and client-side latency percentiles (ms)."""

    name: str
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    latency_ms: dict[str, float]
    # CPU milliseconds per request by stack process, when the stack is the bench's own.
    cpu_ms: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, object]:
        """The result as plain data, for results.json."""
        return {**dataclasses.asdict(self), "rate": self.rate}


def wrk_binary() -> str:
    """Return the path of wrk, or raise LoadGeneratorMissing."""
    found = shutil.which("wrk")
    if found is None:
        raise LoadGeneratorMissing("wrk is not installed (Debian: apt-get install -y wrk)")
    return found


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for our ASCII values


def lua_script(scenario: Scenario) -> str:
    """Return the wrk script of a scenario."""
    paths = ", ".join(_lua_string(p) for p in scenario.paths)
    headers = ", ".join(
        f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in scenario.headers.items()
    )
    body = _lua_string(scenario.body) if scenario.body is not None else "nil"
    lines = [
        f"local paths = {{{paths}}}",
        f"local headers = {{{headers}}}",
        f"local method = {_lua_string(scenario.method)}",
        f"local body = {body}",
        "local counter = 0",
        "local threads = 0",
        "function setup(thread)",
        "  threads = threads + 1",
        "  thread:set('tid', threads)",
        "end",
        "function init(args)",
        # Each thread starts at its own place in the rotation.
        "  counter = tid * 7919",
        "end",
        "function request()",
        "  counter = counter + 1",
        "  local path = paths[(counter % #paths) + 1]",
        "  local payload = nil",
        "  if body then payload = string.format(body, tid, counter) end",
        "  return wrk.format(method, path, headers, payload)",
        "end",
    ]
    if scenario.delay_ms is not None:
        lines += ["function delay()", f"  return {scenario.delay_ms}", "end"]
    percentiles = ", ".join(
        f'"\\"p{p:g}\\":" .. latency:percentile({p}) / 1000' for p in PERCENTILES
    )
    lines += [
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        f'  io.write("{_MARKER}{{\\"requests\\":" .. summary.requests',
        '    .. ",\\"duration_us\\":" .. summary.duration',
        '    .. ",\\"non_2xx\\":" .. e.status',
        '    .. ",\\"socket_errors\\":" .. (e.connect + e.read + e.write + e.timeout)',
        '    .. ",\\"mean\\":" .. latency.mean / 1000',
        '    .. ",\\"max\\":" .. latency.max / 1000',
        f'    .. ",\\"latency\\":{{" .. {_join_lua(percentiles)} .. "}}}}\\n")',
        "end",
    ]
    return "\n".join(lines) + "\n"


def _join_lua(parts: str) -> str:
    return ' .. "," .. '.join(parts.split(", "))


def parse_output(name: str, output: str) -> LoadResult:
    """Read the JSON line our script's done() printed."""
    for line in output.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            latency = {k: float(v) for k, v in data["latency"].items()}
            latency["mean"] = float(data["mean"])
            latency["max"] = float(data["max"])
            return LoadResult(
                name=name,
                requests=int(data["requests"]),
                seconds=int(data["duration_us"]) / 1e6,
                non_2xx=int(data["non_2xx"]),
                socket_errors=int(data["socket_errors"]),
                latency_ms=latency,
            )
    raise RuntimeError(f"wrk printed no results for {name}:\n{output[-2000:]}")


def run(
    scenario: Scenario,
    base_url: str,
    *,
    seconds: float,
    connections: int = CONNECTIONS,
    threads: int = 1,
) -> LoadResult:
    """Run one scenario against base_url for a fixed time."""
    with tempfile.TemporaryDirectory(prefix="newsroom-bench-") as folder:
        script = Path(folder) / f"{scenario.name}.lua"
        script.write_text(lua_script(scenario))
        argv = [
            wrk_binary(),
            "--threads", str(threads),
            "--connections", str(connections),
            "--duration", f"{max(1, round(seconds))}s",
            "--timeout", "10s",
            "--script", str(script),
            base_url.rstrip("/"),
        ]  # fmt: skip
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=seconds + 60
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed for {scenario.name}: {done.stderr.strip()}")
    return parse_output(scenario.name, done.stdout)
