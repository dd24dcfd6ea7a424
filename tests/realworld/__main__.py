"""The official RealWorld API suite (its Postman collection, run by newman) against a private stack.

The collection is the RealWorld project's own (`api/Conduit.postman_collection.json` in its
repository, MIT licence); this repository does not keep a copy of another project's code, so
the caller names the file: `make realworld COLLECTION=path/to/Conduit.postman_collection.json`.
newman comes from the npm registry, pinned, installed once under .cache/newman (Node.js and
npm must be installed: Debian's `nodejs` and `npm`). The stack is private (free ports, its own
PostgreSQL and Kafka under var/) and stopped at the end; the gateway's rate limits are lifted
as in the test suite, since the collection registers and logs in back to back.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from newsroom_devstack.gateway import UNLIMITED
from newsroom_devstack.paths import cache_dir, var_dir
from newsroom_devstack.stack import Stack, StackOptions
from newsroom_devstack.supervisor import StartupError, Supervisor

NEWMAN_VERSION = "6.2.2"


def newman() -> Path:
    """The pinned newman under .cache/newman, installed from the npm registry when missing."""
    prefix = cache_dir() / "newman"
    binary = prefix / "node_modules" / ".bin" / "newman"
    marker = prefix / f".installed-{NEWMAN_VERSION}"
    if binary.is_file() and marker.is_file():
        return binary
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SystemExit(
            "make realworld: Node.js and npm are needed to run newman "
            "(Debian: apt-get install nodejs npm)"
        )
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
         f"newman@{NEWMAN_VERSION}"],
        check=True,
    )  # fmt: skip
    marker.touch()
    return binary


def main(argv: Sequence[str] | None = None) -> int:
    """Start a private stack, run the collection through its gateway, report newman's result."""
    parser = argparse.ArgumentParser(prog="make realworld", description=__doc__.splitlines()[0])
    parser.add_argument("collection", type=Path, help="Conduit.postman_collection.json")
    args = parser.parse_args(argv)
    if not args.collection.is_file():
        parser.error(f"no collection at {args.collection}: pass COLLECTION=<path to the file>")
    runner = newman()
    run_dir = var_dir() / f"realworld-{os.getpid()}"
    supervisor = Supervisor(run_dir)
    try:
        stack = Stack(
            run_dir,
            cache_dir(),
            supervisor=supervisor,
            options=StackOptions(gateway=UNLIMITED),
        )
        started = time.monotonic()
        stack.start()
        print(f"stack ready in {time.monotonic() - started:.0f}s: {stack.gateway_url}", flush=True)
        # The collection's own variables, as its run-api-tests.sh sets them.
        username = f"u{uuid.uuid4().hex[:10]}"
        variables = {
            "APIURL": f"{stack.gateway_url}/api",
            "USERNAME": username,
            "EMAIL": f"{username}@mail.com",
            "PASSWORD": "password",
        }
        command = [str(runner), "run", str(args.collection), "--delay-request", "0"]
        for name, value in variables.items():
            command += ["--global-var", f"{name}={value}"]
        status = subprocess.run(command, check=False).returncode
    except StartupError as error:
        print(f"make realworld: could not start the stack: {error}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()
    if status == 0:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"newman failed (exit {status}); the stack's logs are in {run_dir / 'logs'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
