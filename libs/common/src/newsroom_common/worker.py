"""What a Kafka worker process needs around its loop: graceful stop and an HTTP port
for health probes and metrics."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import threading
import weakref
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

log = logging.getLogger(__name__)


class StopFlag:
    """Set by SIGTERM or SIGINT; the loop finishes its batch and exits.

    The signal handler takes no lock. Python runs a handler in the main thread between two
    bytecodes, and the main thread sleeps on this flag (`run_consumers`' loop, every backoff):
    a handler calling `threading.Event.set()` there could land while that same thread held the
    Event's lock inside `Event.wait`, and wait for it forever (a consumer once stayed up 30 s
    after SIGTERM, its main thread stuck in `Event.set` under `Condition.wait`). So the flag is
    a boolean plus a pipe: setting it writes one byte, which no one reads, and waiting is a poll
    on the pipe, which wakes every waiting thread at once and stays readable from then on.
    """

    def __init__(self) -> None:
        self._set = False
        self._read_fd, self._write_fd = os.pipe()
        # A handler must never block: one byte in an empty pipe would not, but make it certain.
        os.set_blocking(self._write_fd, False)
        weakref.finalize(self, _close_all, (self._read_fd, self._write_fd))

    def install(self) -> StopFlag:
        """Route SIGTERM and SIGINT to this flag."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.set())
        return self

    def __call__(self) -> bool:
        return self._set

    def set(self) -> None:
        """Ask the loop to stop (safe in a signal handler and from any thread)."""
        if self._set:
            return
        self._set = True
        with contextlib.suppress(BlockingIOError):  # a byte is there already
            os.write(self._write_fd, b"\0")

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout`; True when stopped meanwhile."""
        if self._set:
            return True
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        # A signal during the poll runs the handler, which writes the byte, and the poll
        # resumes (PEP 475) to find it there: a stop never waits out the timeout.
        poller.poll(max(0.0, timeout) * 1000)
        return self._set


def _close_all(fds: tuple[int, ...]) -> None:
    for fd in fds:
        os.close(fd)


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
