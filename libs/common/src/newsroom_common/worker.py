"""What a Kafka worker process needs around its loop: graceful stop and an HTTP port
for health probes and metrics."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

log = logging.getLogger(__name__)


class StopFlag:
    """Set by SIGTERM or SIGINT; the loop finishes its batch and exits."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> StopFlag:
        """Route SIGTERM and SIGINT to this flag."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._event.set())
        return self

    def __call__(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        """Ask the loop to stop."""
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout`; True when stopped meanwhile."""
        return self._event.wait(timeout)


def serve_probes(
    port: int,
    *,
    live: Callable[[], bool],
    ready: Callable[[], tuple[bool, dict[str, object]]] | None = None,
    metrics: Callable[[], bytes] | None = None,
) -> ThreadingHTTPServer | None:
    """Serve /healthz, /readyz and /metrics on `port` in a daemon thread (0 disables);
    without `ready` or `metrics`, those paths answer 404."""
    if port <= 0:
        return None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                ok = live()
                self._send(200 if ok else 503, {"status": "ok" if ok else "stalled"})
            elif self.path == "/readyz" and ready is not None:
                ok, detail = ready()
                self._send(
                    200 if ok else 503, {"status": "ready" if ok else "unavailable", **detail}
                )
            elif self.path == "/metrics" and metrics is not None:
                body = metrics()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self._send(404, {"errors": {"body": ["not found"]}})

        def _send(self, status: int, body: object) -> None:
            data = orjson.dumps(body, default=str)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # probes are noise
            return

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    log.info("probes listening", extra={"port": port})
    return server
