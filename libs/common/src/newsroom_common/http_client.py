"""Service-to-service HTTP: timeouts always, retries only for idempotent requests,
and a circuit breaker so a dead peer costs nothing once it is known dead.

On urllib3 directly (requests only wrapped it here): an API worker then never imports
requests, charset-normalizer and their share of the standard library, 4 MB of each worker's
resident memory (issue 20).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry

from newsroom_common import telemetry
from newsroom_common.errors import Unavailable

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one trial through after `reset_after`."""

    def __init__(self, *, threshold: int = 3, reset_after: float = 5.0) -> None:
        self._threshold = threshold
        self._reset_after = reset_after
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Whether a call may go out now."""
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self._reset_after:
                self._opened_at = time.monotonic()  # half-open: one trial per period
                return True
            return False

    def success(self) -> None:
        """Record a good call; closes the breaker."""
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def failure(self) -> None:
        """Record a failed call; may open the breaker."""
        with self._lock:
            self._failures += 1
            if self._failures >= self._threshold:
                self._opened_at = time.monotonic()


class ServiceClient:
    """A client for one peer service."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 0.5,
        read_timeout: float = 2.0,
        retries: int = 2,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._breaker = breaker or CircuitBreaker()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            allowed_methods=IDEMPOTENT,
            status_forcelist=(502, 503, 504),
            backoff_factor=0.05,
            raise_on_status=False,
        )
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=16,
            retries=retry,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        """Send a request; Unavailable when the peer is down or the breaker is open."""
        if not self._breaker.allow():
            raise Unavailable(f"{self.base_url} is unavailable")
        headers = dict(kwargs.pop("headers", None) or {})
        traceparent, tracestate = telemetry.current_trace_headers()
        if traceparent:
            headers["traceparent"] = traceparent
        if tracestate:
            headers["tracestate"] = tracestate
        try:
            response = self._pool.request(method, self.base_url + path, headers=headers, **kwargs)
        except HTTPError as exc:
            self._breaker.failure()
            raise Unavailable(f"{self.base_url} is unavailable") from exc
        if response.status >= 500:
            self._breaker.failure()
            raise Unavailable(f"{self.base_url} answered {response.status}")
        self._breaker.success()
        return response

    def get_json(self, path: str) -> tuple[int, Any]:
        """GET `path`; the status and the parsed body (None when not JSON)."""
        response = self.request("GET", path)
        try:
            return response.status, response.json()
        except ValueError:
            return response.status, None
