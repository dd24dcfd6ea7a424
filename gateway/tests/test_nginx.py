"""The gateway's behaviours, one test each, through the real nginx in front of fake services.

The fakes record every request they are given, so each test can tell what reached a service,
not only what the client saw. Tests that need tight limits or several replicas start a gateway
of their own from the same template.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from newsroom_devstack.gateway import (
    Gateway,
    GatewaySettings,
    openapi_path,
    public_operations,
    service_of,
)
from newsroom_devstack.net import free_port
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.supervisor import Supervisor

ORIGIN = "https://app.example.com"


@dataclass
class Seen:
    """A request as a fake service received it."""

    method: str
    path: str
    headers: dict[str, str]
    # The gateway's side of the connection the request came on (one per kept-alive connection).
    peer_port: int = 0


@dataclass
class FakeService:
    """A threaded HTTP/1.1 server answering like a Newsroom service, recording what it gets."""

    name: str
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def request_ids(self, method: str | None = None) -> list[str]:
        return [
            s.headers.get("X-Request-ID", "")
            for s in self.seen
            if method is None or s.method == method
        ]

    def start(self) -> FakeService:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the gateway's upstream connections alive

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                fake.seen.append(
                    Seen(
                        self.command,
                        self.path,
                        dict(self.headers.items()),
                        peer_port=self.client_address[1],
                    )
                )
                body: dict[str, Any] = {
                    "service": fake.name,
                    "method": self.command,
                    "path": self.path,
                    "request_id": self.headers.get("X-Request-ID"),
                    "connection": self.headers.get("Connection"),
                }
                if "big=1" in self.path:
                    body["padding"] = "x" * 10_000
                status = 503 if "unavailable=1" in self.path else 200
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Request-ID", "the-upstream-one")
                # Like the articles service: anonymous reads public for a few seconds, the
                # tags public for anyone.
                if "no-store=1" in self.path:
                    self.send_header("Cache-Control", "no-store")
                elif self.path == "/api/tags":
                    self.send_header("Cache-Control", "public, max-age=5")
                elif self.headers.get("Authorization"):
                    self.send_header("Cache-Control", "private, no-cache")
                else:
                    self.send_header("Cache-Control", "public, max-age=5")
                if self.path != "/api/tags":
                    self.send_header("Vary", "Authorization")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _answer

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class DroppingService:
    """A replica that reads each request, counts it, and closes the connection unanswered."""

    def __init__(self) -> None:
        self.request_ids: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                found = re.search(rb"(?im)^x-request-id:\s*(\S+)", data)
                if found:
                    self.request_ids.append(found.group(1).decode())

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeService]]:
    services = {name: FakeService(name).start() for name in SERVICE_NAMES}
    yield services
    for service in services.values():
        service.stop()


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start gateways of the test's own, stopped at its end."""
    started: list[Gateway] = []

    def start(upstreams: dict[str, list[str]], **settings: Any) -> Gateway:
        root = tmp_path / f"gateway-{len(started)}"
        gateway = Gateway(
            root,
            upstreams=upstreams,
            supervisor=Supervisor(root),
            settings=GatewaySettings(**settings),
        )
        gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fakes: dict[str, FakeService]
) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("gateway")
    gateway = Gateway(
        root,
        upstreams={name: [fake.address] for name, fake in fakes.items()},
        supervisor=Supervisor(root),
        settings=GatewaySettings(cors_origins=(ORIGIN,)),
    )
    gateway.start()
    yield gateway
    gateway.stop()


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def assert_json_error(status: int, headers: Message, body: bytes, expected: int) -> None:
    assert status == expected
    assert headers["Content-Type"] == "application/json"
    errors = json.loads(body)["errors"]
    assert errors["body"]
    assert all(isinstance(message, str) for message in errors["body"])


def documented_operations() -> list[tuple[str, str]]:
    return public_operations()


# ------------------------------------------------------------------------------------ routing


@pytest.mark.parametrize(("method", "path"), documented_operations())
def test_every_documented_operation_reaches_its_service(
    gateway: Gateway, fakes: dict[str, FakeService], method: str, path: str
) -> None:
    concrete = path.replace("{slug}", "how-to-train").replace("{username}", "ada")
    concrete = "/api" + concrete.replace("{id}", "7")
    request_id = uuid.uuid4().hex
    status, _, body = fetch(
        gateway.url + concrete,
        method=method,
        headers={"X-Request-ID": request_id, "Authorization": "Token t"},
        data=b"{}" if method in {"POST", "PUT"} else None,
    )
    assert status == 200
    answer = json.loads(body)
    assert (answer["service"], answer["method"], answer["path"]) == (
        service_of(path),
        method,
        concrete,
    )
    # Upstream keepalive: nginx must not ask the service to close the connection.
    assert answer["connection"] is None


@pytest.mark.parametrize(("method", "path"), documented_operations())
def test_every_documented_operation_takes_a_trailing_slash_without_a_redirect(
    gateway: Gateway, fakes: dict[str, FakeService], method: str, path: str
) -> None:
    concrete = path.replace("{slug}", "how-to-train").replace("{username}", "ada")
    concrete = "/api" + concrete.replace("{id}", "7")
    query = "?limit=3&tag=x" if method == "GET" else ""
    status, headers, body = fetch(
        f"{gateway.url}{concrete}/{query}",
        method=method,
        headers={"Authorization": "Token t"},
        data=b"{}" if method in {"POST", "PUT"} else None,
    )
    # urllib follows some redirects itself: no Location, and the method the service saw, show
    # that none happened.
    assert status == 200
    assert headers["Location"] is None
    answer = json.loads(body)
    # The service is given the path without the slash, the query string kept.
    assert (answer["service"], answer["method"], answer["path"]) == (
        service_of(path),
        method,
        concrete + query,
    )


@pytest.mark.parametrize(
    "path",
    ["/", "/nope", "/api", "/api/", "/api/usersx", "/api/profiles", "/api/views", "/healthz/",
     "/api/tagsx", "/api/openapi.yaml", "/api/docsx", "/api/docs/missing.js", "/.env",
     "/api/usersx/", "/api/profiles/", "/api/views/", "/api/nope/", "/api/tagsx/",
     "/api/articlesx/", "/api/docsx/"],
)  # fmt: skip
def test_anything_else_is_a_json_404(
    gateway: Gateway, fakes: dict[str, FakeService], path: str
) -> None:
    before = sum(len(f.seen) for f in fakes.values())
    assert_json_error(*fetch(gateway.url + path), expected=404)
    assert sum(len(f.seen) for f in fakes.values()) == before


def test_healthz_is_the_gateways_own(gateway: Gateway) -> None:
    status, headers, body = fetch(f"{gateway.url}/healthz")
    assert (status, headers["Content-Type"], json.loads(body)) == (
        200,
        "application/json",
        {"status": "ok"},
    )


def test_a_method_the_gateway_does_not_serve_is_a_json_405(gateway: Gateway) -> None:
    for path in ("/healthz", "/api/openapi.json", "/api/docs"):
        status, headers, body = fetch(gateway.url + path, method="POST", data=b"{}")
        assert_json_error(status, headers, body, expected=405)
        assert headers["Allow"] == "GET, HEAD"


# ------------------------------------------------------------------------------- request ids


def test_request_id_is_kept_passed_returned_and_logged(
    gateway: Gateway, fakes: dict[str, FakeService]
) -> None:
    status, headers, body = fetch(
        f"{gateway.url}/api/profiles/ada", headers={"X-Request-ID": "client-req.42_A"}
    )
    assert status == 200
    assert json.loads(body)["request_id"] == "client-req.42_A"
    # Exactly one: the service's own echo is replaced by the gateway's.
    assert headers.get_all("X-Request-ID") == ["client-req.42_A"]
    # A missing or unsafe one is replaced by a generated one, passed on just the same.
    for sent in (None, "has spaces", "x" * 129, "semi;colon"):
        _, headers, body = fetch(
            f"{gateway.url}/api/user", headers={"X-Request-ID": sent} if sent else {}
        )
        given = json.loads(body)["request_id"]
        assert re.fullmatch(r"[0-9a-f]{32}", given)
        assert headers["X-Request-ID"] == given
    # Errors the gateway makes carry it too, and every access log line names it.
    _, headers, _ = fetch(f"{gateway.url}/nope", headers={"X-Request-ID": "lost-1"})
    assert headers["X-Request-ID"] == "lost-1"
    deadline = time.monotonic() + 5
    logged: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(logged) < 2:
        lines = gateway.process.log_path.read_text().splitlines()
        logged = [
            json.loads(line)
            for line in lines
            if line.startswith("{")
            and json.loads(line)["request_id"] in {"client-req.42_A", "lost-1"}
        ]
        time.sleep(0.05)
    assert {(e["request_id"], e["uri"], e["status"]) for e in logged} == {
        ("client-req.42_A", "/api/profiles/ada", 200),
        ("lost-1", "/nope", 404),
    }


# --------------------------------------------------------------------------------------- gzip


def test_json_above_a_small_size_is_gzipped(gateway: Gateway) -> None:
    status, headers, body = fetch(
        f"{gateway.url}/api/profiles/ada?big=1", headers={"Accept-Encoding": "gzip"}
    )
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert "Accept-Encoding" in headers["Vary"]
    assert len(json.loads(gzip.decompress(body))["padding"]) == 10_000
    # A small answer is not worth it.
    _, headers, body = fetch(f"{gateway.url}/api/profiles/ada", headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] is None
    assert json.loads(body)["service"] == "users"


# --------------------------------------------------------------------------------------- CORS


def test_cors_preflight_is_answered_by_the_gateway(
    gateway: Gateway, fakes: dict[str, FakeService]
) -> None:
    before = [len(f.seen) for f in fakes.values()]
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    status, headers, _ = fetch(f"{gateway.url}/api/articles", method="OPTIONS", headers=preflight)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")
    }
    assert int(headers["Access-Control-Max-Age"]) > 0
    # Another origin gets no permission: the browser refuses it.
    status, headers, _ = fetch(
        f"{gateway.url}/api/articles",
        method="OPTIONS",
        headers={**preflight, "Origin": "https://evil.example.com"},
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] is None
    assert headers["Access-Control-Allow-Methods"] is None
    # No preflight reached a service.
    assert [len(f.seen) for f in fakes.values()] == before
    # The actual request is allowed, with the headers a front end reads exposed.
    status, headers, _ = fetch(f"{gateway.url}/api/user", headers={"Origin": ORIGIN})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in headers["Access-Control-Expose-Headers"]
    assert "Origin" in headers.get_all("Vary", [])
    _, headers, _ = fetch(f"{gateway.url}/api/user", headers={"Origin": "https://evil.example.com"})
    assert headers["Access-Control-Allow-Origin"] is None


# ------------------------------------------------------------------------ limits and errors


def test_over_the_rate_limit_is_a_json_429_with_retry_after(
    start_gateway: GatewayFactory, fakes: dict[str, FakeService]
) -> None:
    upstreams = {name: [fake.address] for name, fake in fakes.items()}
    gateway = start_gateway(upstreams, rate_per_second=1, rate_burst=2)
    answers = [fetch(f"{gateway.url}/api/tags") for _ in range(6)]
    assert [status for status, _, _ in answers[:3]] == [200, 200, 200]
    refused = [a for a in answers if a[0] == 429]
    assert refused
    status, headers, body = refused[0]
    assert_json_error(status, headers, body, expected=429)
    assert headers["Retry-After"] == "1"


def test_login_and_registration_have_a_much_stricter_limit(
    start_gateway: GatewayFactory, fakes: dict[str, FakeService]
) -> None:
    upstreams = {name: [fake.address] for name, fake in fakes.items()}
    gateway = start_gateway(upstreams, auth_rate_per_minute=1, auth_rate_burst=1)
    login = f"{gateway.url}/api/users/login"
    statuses = [fetch(login, method="POST", data=b"{}")[0] for _ in range(2)]
    assert statuses == [200, 200]
    status, headers, body = fetch(f"{gateway.url}/api/users", method="POST", data=b"{}")
    assert_json_error(status, headers, body, expected=429)
    assert headers["Retry-After"] == "60"
    # The rest of the API, and reads of the same paths, are not held back.
    assert fetch(f"{gateway.url}/api/user")[0] == 200
    assert fetch(f"{gateway.url}/api/tags")[0] == 200
    # A trailing slash is the same path: it spends the same budget and is refused alike.
    for path in ("/api/users/", "/api/users/login/"):
        status, headers, body = fetch(gateway.url + path, method="POST", data=b"{}")
        assert_json_error(status, headers, body, expected=429)
        assert headers["Retry-After"] == "60"


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    start_gateway: GatewayFactory, fakes: dict[str, FakeService]
) -> None:
    upstreams = {name: [fake.address] for name, fake in fakes.items()}
    login_path = "/api/users/login"

    def login(gateway: Gateway, client: str) -> int:
        headers = {"X-Forwarded-For": client}
        return fetch(gateway.url + login_path, method="POST", data=b"{}", headers=headers)[0]

    # The test client (127.0.0.1) plays the Ingress: its X-Forwarded-For names the client.
    behind_proxy = start_gateway(
        upstreams, auth_rate_per_minute=1, auth_rate_burst=1, trusted_proxies=("127.0.0.0/8",)
    )
    # Rate 1/min with a burst of 1: two go through, the third waits a minute.
    assert [login(behind_proxy, "203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert login(behind_proxy, "198.51.100.9") == 200
    # Trusting nobody, the header is ignored: every "client" is the one peer.
    direct = start_gateway(upstreams, auth_rate_per_minute=1, auth_rate_burst=1)
    statuses = [login(direct, "203.0.113.7"), login(direct, "203.0.113.7")]
    assert [*statuses, login(direct, "198.51.100.9")] == [200, 200, 429]


def test_a_too_large_body_is_a_json_413(gateway: Gateway, fakes: dict[str, FakeService]) -> None:
    before = len(fakes["articles"].seen)
    status, headers, body = fetch(
        f"{gateway.url}/api/articles",
        method="POST",
        data=b"{}" + b" " * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert_json_error(status, headers, body, expected=413)
    assert len(fakes["articles"].seen) == before


def test_every_answer_carries_the_security_headers(gateway: Gateway) -> None:
    for path in ("/api/tags", "/nope", "/healthz"):
        _, headers, _ = fetch(gateway.url + path)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["Server"] == "nginx"  # no version


def test_a_service_with_no_instance_listening_is_a_json_503_with_retry_after(
    start_gateway: GatewayFactory,
) -> None:
    # Nothing listens on these ports: connections are refused, as kube-proxy refuses them for a
    # Service with no ready pod. Nothing reached a service, so the client may send it again.
    gateway = start_gateway({name: [f"127.0.0.1:{free_port()}"] for name in SERVICE_NAMES})
    for method, path in (
        ("GET", "/api/user"),
        ("GET", "/api/articles"),
        ("GET", "/api/views/popular"),
        ("POST", "/api/articles"),
    ):
        status, headers, body = fetch(
            gateway.url + path,
            method=method,
            data=b"{}" if method == "POST" else None,
            headers={"X-Request-ID": "r-503", "Content-Type": "application/json"},
        )
        assert_json_error(status, headers, body, expected=503)
        assert headers["Retry-After"] == "5"
        assert headers["X-Request-ID"] == "r-503"


def test_a_service_that_cannot_be_reached_in_time_is_a_json_503_with_retry_after(
    start_gateway: GatewayFactory,
) -> None:
    # A listener whose accept queue is full: the kernel drops new SYNs, so connecting hangs
    # until the gateway's connect timeout (2s), as with a replica on a host that went dark.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = [socket.socket() for _ in range(4)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(listener.getsockname())
            time.sleep(0.2)
            address = f"127.0.0.1:{listener.getsockname()[1]}"
            gateway = start_gateway({name: [address] for name in SERVICE_NAMES})
            started = time.monotonic()
            status, headers, body = fetch(
                f"{gateway.url}/api/tags", headers={"X-Request-ID": "r-504"}
            )
            assert time.monotonic() - started < 8
            # The connection never opened, so nothing was sent: a 503 to retry, not a 504.
            assert_json_error(status, headers, body, expected=503)
            assert headers["Retry-After"] == "5"
            assert headers["X-Request-ID"] == "r-504"
        finally:
            for filler in fillers:
                filler.close()


def test_a_service_that_answers_503_is_passed_through_once_and_stays_in_rotation(
    start_gateway: GatewayFactory, fakes: dict[str, FakeService]
) -> None:
    upstreams = {name: [fake.address] for name, fake in fakes.items()}
    upstreams["views"] = [fakes["views"].address, fakes["users"].address]
    gateway = start_gateway(upstreams)
    for attempt in range(4):
        status, headers, _ = fetch(
            f"{gateway.url}/api/views/popular?unavailable=1",
            headers={"X-Request-ID": f"r-503-{attempt}"},
        )
        assert status == 503
        assert headers["Content-Type"] == "application/json"
        # The service's 503 as it sent it: the gateway adds no Retry-After of its own.
        assert "Retry-After" not in headers
    # A 503 is a shared dependency down: never retried on the other replica, and never a reason
    # to take a replica out of rotation (both keep getting their turn).
    sent = [
        (name, sum(rid.startswith("r-503-") for rid in fakes[name].request_ids("GET")))
        for name in ("views", "users")
    ]
    assert sent == [("views", 2), ("users", 2)]


def test_a_kept_alive_upstream_connection_is_replaced_after_its_lifetime(
    start_gateway: GatewayFactory,
) -> None:
    # In a cluster the upstream is a ClusterIP and kube-proxy picks a pod per connection: only a
    # connection that ends lets new pods (an HPA's) take a share. The gateway keeps connections
    # alive (several requests on one), and replaces each after keepalive_time (5 s).
    fake = FakeService("articles").start()
    try:
        gateway = start_gateway({name: [fake.address] for name in SERVICE_NAMES})
        deadline = time.monotonic() + 30
        ports: list[int] = []
        while len(set(ports)) < 2:
            assert time.monotonic() < deadline, (
                f"the gateway kept one upstream connection for 30 s: {len(ports)} requests on it"
            )
            request_id = uuid.uuid4().hex
            status, _, _ = fetch(
                f"{gateway.url}/api/articles/feed", headers={"X-Request-ID": request_id}
            )
            assert status == 200
            ports += [s.peer_port for s in fake.seen if s.headers["X-Request-ID"] == request_id]
            # One request at a time: a second connection opens only when the first one ended.
            time.sleep(0.5)
        first = ports[0]
        assert ports.count(first) > 1, f"the first connection was not kept alive: {ports}"
    finally:
        fake.stop()


# ------------------------------------------------------------------------------------ retries


def test_a_post_is_never_sent_twice(
    start_gateway: GatewayFactory, fakes: dict[str, FakeService]
) -> None:
    dropping = DroppingService()
    try:
        upstreams = {name: [fake.address] for name, fake in fakes.items()}
        upstreams["articles"] = [dropping.address, fakes["articles"].address]
        gateway = start_gateway(upstreams)
        answers: dict[str, int] = {}
        # Round robin: the dropping replica gets one of the first two.
        for _ in range(4):
            request_id = uuid.uuid4().hex
            status, headers, body = fetch(
                f"{gateway.url}/api/articles",
                method="POST",
                data=b'{"article": {}}',
                headers={"X-Request-ID": request_id, "Content-Type": "application/json"},
            )
            answers[request_id] = status
            if status != 200:
                assert_json_error(status, headers, body, expected=502)
        dropped = set(dropping.request_ids)
        served = set(fakes["articles"].request_ids("POST")) & answers.keys()
        assert len(dropped) == 1
        assert not dropped & served
        assert {rid for rid, status in answers.items() if status == 502} == dropped
        assert served | dropped == answers.keys()
    finally:
        dropping.stop()


def test_an_idempotent_request_is_retried_on_another_replica(
    start_gateway: GatewayFactory, fakes: dict[str, FakeService]
) -> None:
    dropping = DroppingService()
    try:
        upstreams = {name: [fake.address] for name, fake in fakes.items()}
        upstreams["articles"] = [dropping.address, fakes["articles"].address]
        gateway = start_gateway(upstreams)
        sent = [uuid.uuid4().hex for _ in range(4)]
        for request_id in sent:
            status, _, _ = fetch(
                f"{gateway.url}/api/articles/feed", headers={"X-Request-ID": request_id}
            )
            assert status == 200
        assert len(dropping.request_ids) == 1
        assert set(fakes["articles"].request_ids("GET")) >= set(sent)
    finally:
        dropping.stop()


# -------------------------------------------------------------------------------------- cache


def test_anonymous_lists_are_cached_and_authenticated_requests_never(
    start_gateway: GatewayFactory, fakes: dict[str, FakeService]
) -> None:
    gateway = start_gateway({name: [fake.address] for name, fake in fakes.items()})
    articles = fakes["articles"]
    token = {"Authorization": "Token t"}

    def reached(path: str) -> int:
        return sum(1 for s in articles.seen if s.path == path)

    path = "/api/articles?tag=dragons&limit=5"
    url = gateway.url + path
    before = reached(path)
    statuses = [fetch(url)[1]["X-Cache-Status"] for _ in range(3)]
    assert statuses == ["MISS", "HIT", "HIT"]
    assert reached(path) == before + 1
    # With a token: never read from the cache, never stored in it.
    statuses = [fetch(url, headers=token)[1]["X-Cache-Status"] for _ in range(2)]
    assert statuses == ["BYPASS", "BYPASS"]
    assert reached(path) == before + 3
    assert fetch(url)[1]["X-Cache-Status"] == "HIT"

    # The tags are the same for every caller: one entry, shared with and without a token.
    url = f"{gateway.url}/api/tags"
    before = reached("/api/tags")
    callers: list[dict[str, str]] = [token, {}, token]
    statuses = [fetch(url, headers=h)[1]["X-Cache-Status"] for h in callers]
    assert statuses == ["MISS", "HIT", "HIT"]
    assert reached("/api/tags") == before + 1
    # The service's Cache-Control decides: no-store is not kept.
    url = f"{gateway.url}/api/articles?no-store=1"
    assert [fetch(url)[1]["X-Cache-Status"] for _ in range(2)] == ["MISS", "MISS"]
    # Other reads are not cached at all.
    _, headers, _ = fetch(f"{gateway.url}/api/articles/how-to-train")
    assert headers["X-Cache-Status"] is None

    # A trailing slash names the same list: the same entry, not a second one.
    path = "/api/articles?author=ada&limit=2"
    before = reached(path)
    urls = [path, "/api/articles/?author=ada&limit=2", path]
    statuses = [fetch(gateway.url + u)[1]["X-Cache-Status"] for u in urls]
    assert statuses == ["MISS", "HIT", "HIT"]
    assert reached(path) == before + 1
    statuses = [fetch(f"{gateway.url}/api/tags/")[1]["X-Cache-Status"] for _ in range(2)]
    assert statuses == ["HIT", "HIT"]


# --------------------------------------------------------------------------------------- docs


def test_the_openapi_document_and_its_page_are_served(gateway: Gateway) -> None:
    status, headers, body = fetch(f"{gateway.url}/api/openapi.json")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == json.loads(openapi_path().read_text())
    status, headers, body = fetch(f"{gateway.url}/api/docs")
    assert (status, headers["Content-Type"]) == (200, "text/html")
    assert b"/api/docs/swagger-ui/swagger-ui-bundle.js" in body
    # The page with a trailing slash is the same page (the folder's index), and the
    # document with one is the document: the trailing-slash rule leaves neither broken.
    assert fetch(f"{gateway.url}/api/docs/")[2] == body
    assert fetch(f"{gateway.url}/api/openapi.json/")[0] == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    for asset, kind in (
        ("swagger-ui/swagger-ui-bundle.js", "application/javascript"),
        ("swagger-ui/swagger-ui.css", "text/css"),
        ("docs.js", "application/javascript"),
    ):
        status, headers, _ = fetch(f"{gateway.url}/api/docs/{asset}")
        assert (status, headers["Content-Type"]) == (200, kind), asset
