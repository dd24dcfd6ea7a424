"""`make bench-views`: run `newsroom-views bench` against a private PostgreSQL and Kafka.

The devstack starts both in var/bench-<pid>/ (or uses VIEWS_DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS when set, like `make up`) and stops them afterwards.
Arguments are passed on to `newsroom-views bench` (--events, --articles).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from newsroom_devstack.kafka import kafka_from_env
from newsroom_devstack.paths import cache_dir, var_dir
from newsroom_devstack.postgres import database_overrides, postgres_from_env
from newsroom_devstack.supervisor import StartupError, Supervisor


def main() -> int:
    """Start the infrastructure, run the benchmark, stop everything."""
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
        env = {
            **os.environ,
            "VIEWS_DATABASE_URL": postgres.database_url("views"),
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        }
        command = Path(sys.executable).parent / "newsroom-views"
        status = subprocess.run([command, "bench", *sys.argv[1:]], env=env, check=False)
    finally:
        supervisor.stop_all()
    shutil.rmtree(run_dir, ignore_errors=True)
    return status.returncode


if __name__ == "__main__":
    sys.exit(main())
