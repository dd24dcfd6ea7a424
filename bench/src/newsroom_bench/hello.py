"""The ceiling: the smallest Flask app that answers JSON, served by gunicorn's sync workers.

Every endpoint of the report is a ratio to this app's rate on the same machine in the
same run, so the figures travel between machines better than requests per second do.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from newsroom_devstack.net import LOOPBACK, free_port, http_ok
from newsroom_devstack.supervisor import Process, Supervisor

WORKERS = 2
PROCESS_NAME = "ceiling"


def create_app() -> Flask:
    """Build the hello-world app."""
    app = Flask(__name__)

    @app.get("/")
    def hello() -> ResponseReturnValue:
        return jsonify(hello="world")

    return app


class Ceiling:
    """The hello-world app under gunicorn (2 sync workers) on a free loopback port."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.port = free_port()

    @property
    def url(self) -> str:
        """Return the app's URL."""
        return f"http://{LOOPBACK}:{self.port}/"

    def argv(self) -> list[str]:
        """Return the gunicorn command line."""
        gunicorn = Path(sys.executable).parent / "gunicorn"
        return [
            str(gunicorn),
            "--workers", str(WORKERS),
            "--worker-class", "sync",
            "--bind", f"{LOOPBACK}:{self.port}",
            "--no-control-socket",
            "--log-level", "warning",
            "newsroom_bench.hello:create_app()",
        ]  # fmt: skip

    def start(self) -> Process:
        """Start the app and wait until it answers."""
        self.supervisor.start(PROCESS_NAME, self.argv(), env=None)
        process = self.supervisor.process(PROCESS_NAME)
        process.wait_until(lambda: http_ok(self.url), what=self.url, timeout=30)
        return process
