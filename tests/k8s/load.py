"""A bounded load on the gateway's NodePort, a new connection per request.

kube-proxy balances per connection: a keep-alive client would stay on one pod, so every
request opens its own connection and new replicas get their share.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from newsroom_devstack.cluster_deploy import GATEWAY_URL


@dataclass
class Figures:
    """What a load run saw."""

    sent: int = 0
    failed: int = 0
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)


class Load:
    """Workers sending GETs until stopped or until max_seconds (the bound)."""

    def __init__(
        self,
        paths: list[str],
        *,
        workers: int = 4,
        max_seconds: float = 600,
        headers: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.paths = paths
        self.workers = workers
        self.max_seconds = max_seconds
        self.headers = headers or dict
        self.figures = Figures()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Load:
        self._deadline = time.monotonic() + self.max_seconds
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> Figures:
        """Stop the workers and return the figures."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        return self.figures

    def _work(self, index: int) -> None:
        count = index
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            path = self.paths[count % len(self.paths)]
            count += 1
            at = time.strftime("%H:%M:%S")  # to line a failure up with the cluster's logs
            try:
                response = requests.get(
                    GATEWAY_URL + path,
                    headers={"Connection": "close", **self.headers()},
                    timeout=15,
                )
                status = str(response.status_code)
                ok = response.status_code < 400
                detail = f"{at} {path}: {status} {response.text[:200]}"
            except requests.RequestException as error:
                status, ok, detail = type(error).__name__, False, f"{at} {path}: {error}"
            with self._lock:
                self.figures.sent += 1
                self.figures.statuses[status] += 1
                if not ok:
                    self.figures.failed += 1
                    if len(self.figures.failures) < 20:
                        self.figures.failures.append(detail)
