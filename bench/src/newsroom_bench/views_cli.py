"""`make bench-views` (`newsroom-bench-views`): views ingestion next to a bare consumer.

Starts a private PostgreSQL and Kafka in var/bench-<pid>/ (or uses VIEWS_DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS when set, like `make up`), runs `views_ingestion` on them, and stops
what it started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence

from newsroom_bench.views_ingestion import run
from newsroom_common.config import exit_on_settings_error, load_settings
from newsroom_common.logs import configure_logging
from newsroom_devstack.kafka import kafka_from_env
from newsroom_devstack.paths import cache_dir, var_dir
from newsroom_devstack.postgres import database_overrides, postgres_from_env
from newsroom_devstack.supervisor import StartupError, Supervisor
from newsroom_views.config import PREFIX, ViewsSettings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="newsroom-bench-views", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument(
        "--spread-seconds",
        type=int,
        default=600,
        help="read times spread over this many seconds before now (default 600)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the infrastructure, run the benchmark, stop everything."""
    args = parse_args(argv)
    try:
        database_overrides()  # a VIEWS_DATABASE_URL the service cannot use stops us here
    except StartupError as error:
        print(f"make bench-views: {error}", file=sys.stderr)
        return 1
    run_dir = var_dir() / f"bench-{os.getpid()}"
    supervisor = Supervisor(run_dir)
    try:
        postgres = postgres_from_env(run_dir, supervisor=supervisor)
        kafka = kafka_from_env(run_dir, cache_dir(), supervisor=supervisor)
        postgres.start_server()
        kafka.start_server()
        postgres.start()
        kafka.start()
        with exit_on_settings_error("newsroom-bench-views"):
            settings = load_settings(
                ViewsSettings,
                prefix=PREFIX,
                environ={
                    f"{PREFIX}DATABASE_URL": postgres.database_url("views"),
                    "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                },
            )
        configure_logging(service="views-bench", level="WARNING")
        result = run(
            settings,
            events=args.events,
            articles=args.articles,
            spread_s=args.spread_seconds,
            rounds=args.rounds,
        )
        print(result.summary(), flush=True)
    finally:
        supervisor.stop_all()
    shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
