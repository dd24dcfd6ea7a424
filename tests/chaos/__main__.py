"""`make chaos`: fault scenarios against a private stack with two instances of every service.

    python -m tests.chaos [--only broker-kill,users-down] [--rate 30] [--output FILE]

The stack lives in var/chaos-<pid>/ on free ports, so it runs beside `make up` and test
sessions; it is stopped at the end, and its folder (with every process's log) is kept only
when a scenario missed its goal. Prints one table per scenario and writes them all as
Markdown to chaos-results/ (ignored by git). Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from newsroom_devstack.gateway import GatewaySettings
from newsroom_devstack.net import free_port
from newsroom_devstack.paths import cache_dir, repo_root, var_dir
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.stack import Stack, StackOptions
from newsroom_devstack.supervisor import StartupError, Supervisor

from .load import Client
from .report import machine, markdown, table
from .scenarios import SCENARIOS, Context, Result, run

INSTANCES = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen scenarios and report them."""
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--rate", type=float, default=30.0, help="requests a second in total")
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder and logs")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only.split(",")]
    if not chosen:
        parser.error(f"no such scenario; known: {', '.join(s.name for s in SCENARIOS)}")
    started = time.monotonic()
    begun_at = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    run_dir = var_dir() / f"chaos-{os.getpid()}"
    supervisor = Supervisor(run_dir)
    options = StackOptions(
        api_ports={name: [free_port() for _ in range(INSTANCES)] for name in SERVICE_NAMES},
        # The load is one client address: the limits must not be what is measured. No cache
        # either, so every read reaches a service and tells whether the service answered.
        gateway=GatewaySettings(
            rate_per_second=5000, rate_burst=5000, auth_rate_per_minute=60000, cache=False
        ),
    )
    results: list[Result] = []
    aborted: list[str] = []
    try:
        stack = Stack(run_dir, cache_dir(), supervisor=supervisor, options=options)
        print(f"starting a stack with {INSTANCES} instances per service in {run_dir} ...")
        stack.start()
        print(f"ready in {time.monotonic() - started:.0f}s: gateway {stack.gateway_url}")
        client = Client(stack.gateway_url)
        writers = [client.register("chaos") for _ in range(4)]
        ctx = Context(stack, client, writers, rate=args.rate, threads=args.threads)
        for scenario in chosen:
            print(f"\n== {scenario.name}: {scenario.title}", flush=True)
            try:
                result = run(scenario, ctx, log=lambda line: print(line, flush=True))
            except RuntimeError as error:
                # The stack is too broken to even set the scenario up: say so, go on.
                print(f"  could not run: {error}", flush=True)
                aborted.append(scenario.name)
                continue
            results.append(result)
            print(table(result), flush=True)
    except (StartupError, LookupError) as error:
        print(f"make chaos: could not start the stack: {error}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()
    elapsed = time.monotonic() - started
    info = machine(load_before=load_before, load_after=os.getloadavg())
    text = markdown(results, info=info, begun_at=begun_at, elapsed=elapsed, rate=args.rate)
    output = args.output or repo_root() / "chaos-results" / f"chaos-{begun_at:%Y%m%dT%H%M%SZ}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    missed = [r.name for r in results if not r.passed] + aborted
    print(
        f"\n{len(chosen) - len(missed)}/{len(chosen)} scenarios met their goal "
        f"in {elapsed / 60:.1f} min; report: {output}"
    )
    if missed:
        print(f"missed: {', '.join(missed)}; logs kept in {run_dir / 'logs'}")
        return 1
    if args.keep:
        print(f"logs kept in {run_dir / 'logs'}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    print(f"make chaos on {platform.node()}", flush=True)
    sys.exit(main())
