"""`newsroom-stack up|down|status|prepare`: run the whole platform locally, in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType

from newsroom_devstack.gateway import UNLIMITED, GatewaySettings, TemplateError, nginx_binary
from newsroom_devstack.kafka import ensure_jars, java_binary
from newsroom_devstack.paths import cache_dir, var_dir
from newsroom_devstack.postgres import database_overrides, pg_bindir
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.stack import DEV_GATEWAY_PORT, Stack, StackOptions
from newsroom_devstack.supervisor import (
    STATE_FILE,
    Console,
    StartupError,
    Supervisor,
    is_recorded_alive,
    read_state,
    stop_recorded,
)
from newsroom_devstack.swagger_ui import ensure_swagger_ui


class _StopRequested(Exception):
    """Ctrl-C, SIGTERM (`newsroom-stack down`) or a closed terminal."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsroom-stack` command."""
    parser = argparse.ArgumentParser(
        prog="newsroom-stack",
        description="Run Newsroom locally: PostgreSQL, Kafka, the services and the gateway.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start everything in the foreground; Ctrl-C stops it all")
    commands.add_parser("down", help="stop a stack started by `up` in another terminal")
    commands.add_parser("status", help="show whether a stack runs, its processes and URLs")
    commands.add_parser("prepare", help="fetch and check what the stack needs (Kafka jars, ...)")
    args = parser.parse_args(argv)
    handlers = {"up": up, "down": down, "status": status, "prepare": prepare}
    return handlers[args.command]()


def up() -> int:
    """Start the platform, print its URL once ready, run until interrupted, then stop it all."""
    started = time.monotonic()
    try:
        options = up_options(os.environ)
    except OptionError as error:
        print(f"newsroom-stack: {error}", file=sys.stderr)
        return 2
    root = var_dir()
    state_path = root / STATE_FILE
    state = read_state(state_path)
    if state and is_recorded_alive(state.get("supervisor", {"pid": 0})):
        print(
            f"newsroom-stack: a stack already runs (pid {state['supervisor']['pid']}); "
            "`make down` stops it",
            file=sys.stderr,
        )
        return 1
    # A stack whose supervisor died (SIGKILL, a crash) may have left servers behind.
    stop_recorded(state_path)
    console = Console()
    supervisor = Supervisor(root, console=console)
    status_code = 0
    _install_stop_handlers()
    try:
        stack = Stack(root, cache_dir(), supervisor=supervisor, options=options)
        console.width = max(len(name) for name in stack.process_names())
        missing = [name for name in SERVICE_NAMES if name not in {s.name for s in stack.services}]
        if missing:
            console.message(f"not installed, not started: {', '.join(missing)}")
        stack.start()
        elapsed = time.monotonic() - started
        console.message(f"Newsroom is ready: {stack.gateway_url}  ({elapsed:.1f}s)")
        for name, url in stack.urls().items():
            console.message(f"  {name:<10} {url}")
        _watch(supervisor, console)
    except _StopRequested:
        pass
    except (StartupError, LookupError, TemplateError) as error:
        console.message(f"newsroom-stack: {error}")
        status_code = 1
    finally:
        _ignore_further_stops(console)
        console.message("stopping Newsroom...")
        supervisor.stop_all()
        state_path.unlink(missing_ok=True)
        console.message("Newsroom stopped")
    return status_code


class OptionError(ValueError):
    """An environment variable of `make up` with a value it cannot use."""


def up_options(environ: Mapping[str, str]) -> StackOptions:
    """`make up`'s options from its environment variables (bad values name the variable).

    NEWSROOM_RATE_LIMIT=off lifts the gateway's per-address limits and NEWSROOM_API_WORKERS
    sets gunicorn workers per API: a load test against the defaults (limits on, one worker)
    measures the limiter's 429s and a single process, not the platform.
    """
    rate_limit = environ.get("NEWSROOM_RATE_LIMIT", "on").strip().lower()
    if rate_limit not in {"on", "off"}:
        raise OptionError(f"NEWSROOM_RATE_LIMIT must be on or off, not {rate_limit!r}")
    workers_text = environ.get("NEWSROOM_API_WORKERS", "1").strip()
    try:
        workers = int(workers_text)
    except ValueError:
        workers = 0
    if workers < 1:
        raise OptionError(
            f"NEWSROOM_API_WORKERS must be a whole number of gunicorn workers (1 or more), "
            f"not {workers_text!r}"
        )
    port_text = environ.get("GATEWAY_PORT", str(DEV_GATEWAY_PORT))
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise OptionError(f"GATEWAY_PORT must be a TCP port number, not {port_text!r}")
    return StackOptions(
        gateway_port=int(port_text),
        dev_ports=True,
        log_level=environ.get("NEWSROOM_LOG_LEVEL", "INFO"),
        api_workers=workers,
        gateway=UNLIMITED if rate_limit == "off" else GatewaySettings(),
    )


def down() -> int:
    """Stop the stack recorded in var/stack.json (by its PIDs only)."""
    if stop_recorded(var_dir() / STATE_FILE, timeout=60.0):
        print("Newsroom stopped")
    else:
        print("no Newsroom stack is running")
    return 0


def status() -> int:
    """Print whether a stack runs, with its processes and URLs; exit 1 if none runs."""
    state = read_state(var_dir() / STATE_FILE)
    if not state or not is_recorded_alive(state.get("supervisor", {"pid": 0})):
        print("no Newsroom stack is running")
        recorded = (state or {}).get("processes", {})
        leftovers = [name for name, record in recorded.items() if is_recorded_alive(record)]
        if leftovers:
            print(f"  but its supervisor died and left: {', '.join(leftovers)} (`make down`)")
        return 1
    print(f"Newsroom runs (supervisor pid {state['supervisor']['pid']})")
    for name, record in state.get("processes", {}).items():
        alive = "running" if is_recorded_alive(record) else "exited"
        print(f"  {name:<18} pid {record['pid']:<8} {alive}")
    for name, url in state.get("urls", {}).items():
        print(f"  {name:<18} {url}")
    return 0


def prepare() -> int:
    """Fetch the Kafka jars and Swagger UI and check the stack's tools; fast when all is there."""
    started = time.monotonic()
    try:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            print("Kafka: external broker, no jars needed")
        else:
            java = java_binary()
            print(f"Kafka: jars in {ensure_jars(cache_dir())}, java at {java}")
        if len(database_overrides()) < len(SERVICE_NAMES):
            print(f"PostgreSQL: server binaries in {pg_bindir()}")
        print(f"Nginx: {nginx_binary()}")
        print(f"Swagger UI for /api/docs: {ensure_swagger_ui()}")
    except StartupError as error:
        print(f"newsroom-stack prepare: {error}", file=sys.stderr)
        return 1
    print(f"ready to run ({time.monotonic() - started:.1f}s)")
    return 0


def _watch(supervisor: Supervisor, console: Console) -> None:
    """Wait for a stop request, reporting any process that exits on its own meanwhile."""
    reported: set[str] = set()
    while True:
        time.sleep(0.5)
        for process in supervisor.processes():
            # Migrations are meant to exit; anything else exiting is news.
            expected = process.name.endswith("-migrate")
            if expected or process.name in reported or process.is_running():
                continue
            reported.add(process.name)
            console.message(
                f"{process.name} exited with status {process.wait(0)}; "
                f"the rest keeps running (log: {process.log_path})"
            )


def _install_stop_handlers() -> None:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        raise _StopRequested

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)


def _ignore_further_stops(console: Console) -> None:
    # A second Ctrl-C must not abort the orderly stop and leave servers behind.
    def already_stopping(signum: int, frame: FrameType | None) -> None:
        console.message("already stopping, please wait")

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, already_stopping)


if __name__ == "__main__":
    sys.exit(main())
