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
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def with_trailing_slashes(collection: dict[str, Any]) -> dict[str, Any]:
    """The collection with a "/" after the path of every request's URL (before its query)."""

    def slashed(raw: str) -> str:
        path, question, query = raw.partition("?")
        return f"{path.rstrip('/')}/{question}{query}"

    def visit(items: list[dict[str, Any]]) -> None:
        for item in items:
            visit(item.get("item", []))
            request = item.get("request")
            if isinstance(request, dict):
                url = request["url"]
                # A string URL is read as it is; an object's parts win over its "raw".
                request["url"] = slashed(url if isinstance(url, str) else url["raw"])

    visit(collection["item"])
    return collection


def verdict(report: Path) -> int:
    """0 when the report shows requests run and every assertion held, else 1, saying why."""
    if not report.is_file():
        print("make realworld: newman wrote no report: the collection did not run")
        return 1
    stats = json.loads(report.read_text())["run"]["stats"]
    requests, assertions = stats["requests"], stats["assertions"]
    print(
        f"RealWorld suite: {requests['total']} requests ({requests['failed']} failed), "
        f"{assertions['total']} assertions ({assertions['failed']} failed)"
    )
    if requests["total"] == 0 or assertions["total"] == 0:
        return 1
    return 1 if requests["failed"] or assertions["failed"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Start a private stack, run the collection through its gateway, report newman's result."""
    parser = argparse.ArgumentParser(prog="make realworld", description=__doc__.splitlines()[0])
    parser.add_argument("collection", type=Path, help="Conduit.postman_collection.json")
    parser.add_argument(
        "--trailing-slash",
        action="store_true",
        help="send every request of the collection with a trailing slash on its path",
    )
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
        collection = args.collection
        if args.trailing_slash:
            collection = run_dir / "collection-with-trailing-slashes.json"
            collection.write_text(
                json.dumps(with_trailing_slashes(json.loads(args.collection.read_text())))
            )
        report = run_dir / "newman-report.json"
        command = [str(runner), "run", str(collection), "--reporters", "cli,json"]
        command += ["--reporter-json-export", str(report)]
        for name, value in variables.items():
            command += ["--global-var", f"{name}={value}"]
        status = subprocess.run(command, check=False).returncode
        # newman's exit status alone is not enough (a usage error exits 0): its report says
        # how many requests ran and how many assertions held.
        status = status or verdict(report)
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
