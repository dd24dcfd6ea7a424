"""gunicorn settings shared by every service's `gunicorn_conf` module.

Workers are gthread by default (sync workers cannot keep the gateway's upstream
connections alive); `<PREFIX>WORKER_CLASS` picks `sync` or `gevent` instead, for the
worker-model comparison of `make bench --worker-class` (docs/benchmark). The app
is not preloaded: `create_app()` runs in each worker after the fork, so engines,
Kafka clients and tracer providers are never shared across processes. Its
*modules* are: the master imports them (importing connects nothing and starts no
thread) and freezes them out of the garbage collector before each fork, so
workers share those pages copy-on-write instead of each holding its own copy
(issue 20: PSS per worker).

Liveness is not asked of the request workers: with every gthread slot busy
(saturation), a liveness probe on the traffic port would wait in the same
queue, time out, and get a healthy pod killed just when it is needed most.
With `<PREFIX>PROBE_PORT` set, the master serves `/healthz` there from a
thread of its own: it answers while the master runs and has workers, and
gunicorn itself replaces a worker that stops heartbeating (`timeout`).
Readiness stays on the traffic port: a saturated pod may well leave the
Service's endpoints for a moment.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any, Protocol

from newsroom_common import telemetry
from newsroom_common.config import exit_on_settings_error
from newsroom_common.native_memory import cap_malloc_arenas
from newsroom_common.worker import serve_probes

log = logging.getLogger(__name__)


class ApiSettings(Protocol):
    """The fields of a service's settings that gunicorn runs its API with."""

    @property
    def bind(self) -> str: ...
    @property
    def workers(self) -> int: ...
    @property
    def threads(self) -> int: ...
    @property
    def reload(self) -> bool: ...
    @property
    def worker_tmp_dir(self) -> str: ...
    @property
    def log_level(self) -> str: ...
    @property
    def probe_port(self) -> int: ...
    @property
    def worker_class(self) -> str: ...


def settings(
    *,
    service: str,
    wsgi_app: str,
    load_settings: Callable[[], ApiSettings],
) -> dict[str, Any]:
    """gunicorn configuration for one service, from its settings (`<PREFIX>_*` variables).

    `load_settings` reads the service's settings once here, in the master (it parses, never
    connects): a missing, unusable or unknown value stops gunicorn with one line naming it,
    instead of every worker failing to boot with a traceback.
    """
    with exit_on_settings_error(f"newsroom-{service}"):
        api = load_settings()
    _prepare_metrics_dir(service)
    probe_port = api.probe_port
    probes: list[ThreadingHTTPServer] = []
    worker_class = api.worker_class
    # Not with reload: workers forked from a master holding the old modules would never see
    # the edits. Not with gevent either: its worker patches sockets and threads after the
    # fork, and modules imported before would keep the unpatched ones.
    preload = not api.reload and worker_class != "gevent"
    if preload:
        # After the metrics folder is set (prometheus_client picks its storage at import).
        importlib.import_module(wsgi_app.partition(":")[0])

    def when_ready(server: Any) -> None:
        # In the master, once it listens and before it forks the workers.
        listener = serve_probes(probe_port, live=lambda: bool(server.WORKERS))
        if listener is not None:
            probes.append(listener)

    def post_fork(server: Any, worker: Any) -> None:
        # The worker must not hold the master's probe socket (the thread serving it stays
        # in the master).
        for listener in probes:
            listener.socket.close()
        if worker_class == "gevent":
            # gunicorn's gevent worker patches sockets and threads; psycopg2 is C and needs
            # its own wait callback to yield to other requests while a query runs.
            from psycogreen.gevent import patch_psycopg

            patch_psycopg()
        elif worker_class == "gthread":
            # Before the request threads start: their arenas would each keep what they freed.
            cap_malloc_arenas(2)
        # Fork-unsafe objects are built here and in create_app, never in the master: each
        # worker gets its own provider, exporter thread and service.instance.id.
        telemetry.init_tracing(service=service, exporter=telemetry.exporter_from_env())

    def pre_fork(server: Any, worker: Any) -> None:
        if preload:
            # What the master holds now (the imported modules) is never scanned by a worker's
            # collector, whose scans would otherwise write to, and so copy, the shared pages.
            gc.collect()
            gc.freeze()

    return {
        "wsgi_app": wsgi_app,
        "bind": [api.bind],
        "worker_class": worker_class,
        "workers": api.workers,
        "threads": api.threads,
        # Longer than the gateway's upstream keepalive_timeout, so Nginx closes first.
        "keepalive": 75,
        "timeout": 30,
        "graceful_timeout": 20,
        "reload": api.reload,
        "worker_tmp_dir": api.worker_tmp_dir,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": api.log_level.lower(),
        "proc_name": f"newsroom-{service}",
        "when_ready": when_ready,
        "pre_fork": pre_fork,
        "post_fork": post_fork,
        "child_exit": child_exit,
    }


def _prepare_metrics_dir(service: str) -> None:
    """Give the workers an empty folder for their metric files.

    Set before any process imports prometheus_client, which chooses its storage
    at import: before the master imports the app's modules. Values the master
    creates on import move to a worker's own files at its first change
    (prometheus_client checks the PID on every update).
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(
        tempfile.gettempdir(), f"newsroom-{service}-metrics-{os.getpid()}"
    )
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (its counters keep counting in the sum)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
