"""A failed connection to a service's ClusterIP is tried once more, on a new connection.

In a cluster each of the gateway's upstreams is a Service's ClusterIP, and kube-proxy picks a
pod per connection. A pod that is leaving can still get a connection for a moment (the node's
rules follow the endpoint change a little later; a reused source port can follow a stale
conntrack entry), and that connection is refused or reset. The chart lists the ClusterIP twice
with max_fails=0, so nginx tries the request once more on a new connection, which kube-proxy
balances afresh, and never takes the Service out of rotation for one pod's failure.

Here the real nginx runs the configuration the image's entrypoint writes from the chart's
ConfigMap, in front of a fake Service address that resets the connections it is told to, after
reading the request (the request was sent: the strictest case for what may be retried).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from deploy_support import CHARTS, Helm, by_name, chart_gateway

from newsroom_devstack.net import LOOPBACK, free_port


@dataclass
class ServiceAddress:
    """A loopback listener standing for a ClusterIP: it resets the connections whose number
    (from 1, in the order accepted) is in `reset`, and answers the others 200 with
    Connection: close, so that every request comes on a connection of its own."""

    reset: set[int]
    requests: list[tuple[int, str]] = field(default_factory=list)  # (connection, request line)
    answered: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    def _serve(self) -> None:
        number = 0
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            number += 1
            with connection:
                connection.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append((number, data.split(b"\r\n", 1)[0].decode()))
                if number in self.reset:
                    # RST instead of FIN: what a pod that is gone, or no longer listening, sends.
                    connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    continue
                body = json.dumps({"connection": number}).encode()
                # Recorded before the answer leaves: the test reads it once nginx has answered.
                self.answered.append(number)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def articles_service() -> Iterator[ServiceAddress]:
    service = ServiceAddress(reset={1, 3})
    yield service
    service.stop()


@pytest.fixture
def gateway(helm: Helm, tmp_path: Path, articles_service: ServiceAddress) -> Iterator[str]:
    """The chart's gateway with articles at the fake Service address, users and views at
    addresses nobody serves."""
    upstreams = {
        "articles": {"host": LOOPBACK, "port": articles_service.port},
        "users": {"host": LOOPBACK, "port": free_port()},
        "views": {"host": LOOPBACK, "port": free_port()},
    }
    objects = helm.template(CHARTS / "gateway", values={"upstreams": upstreams})
    config = by_name(objects, "ConfigMap")["newsroom-gateway-config"]["data"]
    with chart_gateway(config, tmp_path) as (url, _):
        yield url


def test_a_read_whose_connection_is_reset_is_answered_from_a_new_connection(
    gateway: str, articles_service: ServiceAddress
) -> None:
    # Connections 1 and 3 are reset: each read is tried again, and the failure of the first
    # entry does not take it out of rotation for the second read (max_fails=0).
    for _ in range(3):
        answer = requests.get(f"{gateway}/api/articles/feed", timeout=15)
        assert answer.status_code == 200, answer.text
    assert articles_service.requests == [
        (1, "GET /api/articles/feed HTTP/1.1"),
        (2, "GET /api/articles/feed HTTP/1.1"),
        (3, "GET /api/articles/feed HTTP/1.1"),
        (4, "GET /api/articles/feed HTTP/1.1"),
        (5, "GET /api/articles/feed HTTP/1.1"),
    ]
    assert articles_service.answered == [2, 4, 5]


def test_a_write_that_reached_the_service_is_never_sent_again(
    gateway: str, articles_service: ServiceAddress
) -> None:
    # The POST was read before the reset: the service may have applied it, so the gateway
    # answers 502 instead of sending it a second time.
    answer = requests.post(f"{gateway}/api/articles", json={"article": {}}, timeout=15)
    assert answer.status_code == 502
    assert answer.json() == {"errors": {"body": ["the service failed to answer"]}}
    assert articles_service.requests == [(1, "POST /api/articles HTTP/1.1")]
    assert articles_service.answered == []
    # The next one is sent once and answered.
    answer = requests.post(f"{gateway}/api/articles", json={"article": {}}, timeout=15)
    assert answer.status_code == 200
    assert [line for _, line in articles_service.requests].count("POST /api/articles HTTP/1.1") == 2


def test_a_service_with_no_pod_behind_its_address_is_a_json_503_with_retry_after(
    gateway: str,
) -> None:
    # Users and views sit at addresses nobody serves: the connection is refused, as kube-proxy
    # refuses it for a Service with no ready pod (issue 18, item 9). Nothing reached a service,
    # so a write may be sent again as well: 503 in the API's error shape, with Retry-After.
    for method, path in (
        ("GET", "/api/user"),
        ("POST", "/api/users"),
        ("GET", "/api/views/popular"),
    ):
        answer = requests.request(method, f"{gateway}{path}", json={}, timeout=15)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "5"
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json() == {"errors": {"body": ["service unavailable, retry shortly"]}}
