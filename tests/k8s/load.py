"""A bounded load on the gateway's NodePort, a new connection per request.

kube-proxy balances per connection: a keep-alive client would stay on one pod, so every
request opens its own connection and new replicas get their share.

At its first failed request a load also records what routed it, right then: every served
Service's endpoints (ready, serving, terminating) and the Warning events of the served pods
in the last two minutes. The record is the last entry of `failures`, so a failed proof says
what the cluster looked like when it happened, not only minutes later.
"""

from __future__ import annotations

import calendar
import collections
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from newsroom_devstack.cluster import Cluster
from newsroom_devstack.cluster_deploy import GATEWAY_URL, NAMESPACE, RELEASE

SERVED = ("gateway", "users", "articles", "views")


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
        self._snapshot: threading.Thread | None = None

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
        if self._snapshot is not None:
            self._snapshot.join(timeout=60)
        return self.figures

    def _work(self, index: int) -> None:
        count = index
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            path = self.paths[count % len(self.paths)]
            count += 1
            at = at_now()  # to line a failure up with the cluster's logs
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
                    if self._snapshot is None:
                        self._snapshot = threading.Thread(target=self._record, daemon=True)
                        self._snapshot.start()

    def _record(self) -> None:
        try:
            text = routing_snapshot(Cluster())
        except Exception as error:  # a diagnosis must never hide the failure itself
            text = f"no snapshot: {error}"
        with self._lock:
            self.figures.failures.append(f"cluster at the first failure ({at_now()}): {text}")


def at_now() -> str:
    return time.strftime("%H:%M:%S")


def routing_snapshot(cluster: Cluster) -> str:
    """The served Services' endpoints and their pods' recent Warning events, in one line each."""
    lines = []
    slices = json.loads(
        cluster.kubectl("-n", NAMESPACE, "get", "endpointslices", "-o", "json", timeout=30).stdout
    )
    for item in slices["items"]:
        service = item["metadata"].get("labels", {}).get("kubernetes.io/service-name", "")
        if service not in {f"{RELEASE}-{name}" for name in SERVED}:
            continue
        endpoints = []
        for endpoint in item.get("endpoints") or []:
            conditions = endpoint.get("conditions", {})
            flags = "".join(
                letter if conditions.get(name) else "-"
                for letter, name in (("R", "ready"), ("S", "serving"), ("T", "terminating"))
            )
            pod = endpoint.get("targetRef", {}).get("name", "?")
            endpoints.append(f"{pod} {endpoint['addresses'][0]} {flags}")
        lines.append(f"{service}: " + (", ".join(sorted(endpoints)) or "no endpoint"))
    events = json.loads(
        cluster.kubectl(
            "-n",
            NAMESPACE,
            "get",
            "events",
            "--field-selector=type=Warning",
            "-o",
            "json",
            timeout=30,
        ).stdout
    )
    cutoff = time.time() - 120
    for event in events["items"]:
        name = event["involvedObject"].get("name", "")
        when = event.get("lastTimestamp") or event.get("eventTime") or ""
        parsed = calendar.timegm(time.strptime(when[:19], "%Y-%m-%dT%H:%M:%S"))
        if parsed < cutoff or not any(
            name.startswith(f"{RELEASE}-{app}-") and name.count("-") == 3 for app in SERVED
        ):
            continue
        lines.append(f"{when[11:19]} {name} {event['reason']}: {event['message'][:160]}")
    return " | ".join(lines)
