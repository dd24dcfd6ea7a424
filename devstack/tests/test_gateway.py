"""The gateway template: rendering like envsubst, `nginx -t`, and a real nginx answering."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from newsroom_devstack.gateway import (
    TEMPLATE_VARIABLES,
    Gateway,
    GatewaySettings,
    TemplateError,
    render,
    template_path,
    upstream_servers,
)
from newsroom_devstack.net import free_port
from newsroom_devstack.services import SERVICE_NAMES
from newsroom_devstack.supervisor import Supervisor

NOT_FOUND = {"errors": {"body": ["not found"]}}


def sample_values() -> dict[str, str]:
    values = {
        "GATEWAY_LISTEN": "127.0.0.1:8080",
        "GATEWAY_WORKER_PROCESSES": "1",
        "GATEWAY_RUN_DIR": "/tmp/gateway",
        "GATEWAY_ACCESS_LOG": "/dev/stdout",
        **GatewaySettings().values(),
    }
    for number, name in enumerate(SERVICE_NAMES, start=1):
        values[f"{name.upper()}_UPSTREAM_SERVERS"] = upstream_servers(
            [f"127.0.0.1:{8000 + number}", f"127.0.0.1:{9000 + number}"]
        )
    return values


def test_the_template_uses_exactly_the_declared_placeholders() -> None:
    template = template_path().read_text()
    assert set(re.findall(r"\$\{(\w+)\}", template)) == set(TEMPLATE_VARIABLES)
    # envsubst would also replace the brace-less form; the template must not rely on the difference.
    for name in TEMPLATE_VARIABLES:
        assert not re.search(rf"\${name}\b", template), name


def test_rendering_substitutes_every_placeholder() -> None:
    rendered = render(template_path().read_text(), sample_values())
    assert "${" not in rendered
    assert "listen 127.0.0.1:8080;" in rendered
    assert "server 127.0.0.1:8001;\n        server 127.0.0.1:9001;" in rendered
    # nginx's own variables are left alone.
    assert "$http_x_request_id" in rendered


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) missing")
def test_rendering_matches_envsubst_with_the_declared_names() -> None:
    template = template_path().read_text()
    values = sample_values()
    shell_format = " ".join(f"${{{name}}}" for name in TEMPLATE_VARIABLES)
    result = subprocess.run(
        ["envsubst", shell_format],
        input=template,
        env=values,
        capture_output=True,
        text=True,
        check=True,
    )
    assert render(template, values) == result.stdout


def test_rendering_fails_on_a_missing_or_unknown_value() -> None:
    values = sample_values()
    del values["GATEWAY_LISTEN"]
    with pytest.raises(TemplateError, match="no value for GATEWAY_LISTEN"):
        render(template_path().read_text(), values)
    with pytest.raises(TemplateError, match="not template variables: EXTRA"):
        render(template_path().read_text(), {**sample_values(), "EXTRA": "1"})


def test_rendering_fails_on_an_undeclared_placeholder() -> None:
    with pytest.raises(TemplateError, match="undeclared placeholders: TYPO"):
        render("listen ${TYPO};", {"A": "1"}, variables=["A"])


@pytest.mark.parametrize("address", ["", "127.0.0.1", "host:port", "a:1; evil"])
def test_upstream_addresses_must_be_host_and_port(address: str) -> None:
    with pytest.raises(TemplateError):
        upstream_servers([address] if address else [])


def test_a_rendered_config_passes_nginx_t(tmp_path: Path) -> None:
    gateway = Gateway(
        tmp_path,
        upstreams={name: ["127.0.0.1:1", "127.0.0.1:2"] for name in SERVICE_NAMES},
        supervisor=Supervisor(tmp_path),
    )
    gateway.check()
    assert "${" not in gateway.config_path.read_text()


class FakeService(BaseHTTPRequestHandler):
    """Answers any request with the service's name, the path and the request id it was given."""

    protocol_version = "HTTP/1.1"  # keeps the gateway's upstream connections alive
    service = "?"

    def do_GET(self) -> None:
        body: dict[str, Any] = {
            "service": self.service,
            "path": self.path,
            "request_id": self.headers.get("X-Request-ID"),
            "connection": self.headers.get("Connection"),
        }
        if self.path.endswith("?big=1"):
            body["padding"] = "x" * 10_000
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-ID", "the-upstream-one")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def fake_services() -> Iterator[dict[str, str]]:
    servers = {}
    for name in SERVICE_NAMES:
        handler = type(f"Fake{name.title()}", (FakeService,), {"service": name})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield {name: f"127.0.0.1:{server.server_address[1]}" for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_services: dict[str, str]
) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("gateway")
    upstreams = {name: [address] for name, address in fake_services.items()}
    gateway = Gateway(root, upstreams=upstreams, supervisor=Supervisor(root))
    gateway.start()
    yield gateway
    gateway.stop()


def fetch(
    url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, data=data)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def test_the_gateway_answers_healthz_itself(gateway: Gateway) -> None:
    status, headers, body = fetch(f"{gateway.url}/healthz")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok"}


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/api", "/api/usersx", "/api/profiles", "/api/views", "/healthz/"]
)
def test_an_unknown_path_is_a_json_404(gateway: Gateway, path: str) -> None:
    status, headers, body = fetch(gateway.url + path)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == NOT_FOUND


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/users", "users"),
        ("/api/users/login", "users"),
        ("/api/user", "users"),
        ("/api/profiles/alice", "users"),
        ("/api/profiles/alice/follow", "users"),
        ("/api/articles", "articles"),
        ("/api/articles?tag=dragons&limit=5", "articles"),
        ("/api/articles/feed", "articles"),
        ("/api/articles/how-to-train/comments", "articles"),
        ("/api/articles/how-to-train/favorite", "articles"),
        ("/api/tags", "articles"),
        ("/api/articles/how-to-train/views", "views"),
        ("/api/views/popular?window=24h", "views"),
    ],
)
def test_routes_go_to_their_service(gateway: Gateway, path: str, service: str) -> None:
    status, _, body = fetch(gateway.url + path)
    assert status == 200
    answer = json.loads(body)
    assert (answer["service"], answer["path"]) == (service, path)
    # Upstream keepalive: nginx must not ask the service to close the connection.
    assert answer["connection"] is None


def test_a_sane_request_id_is_kept_passed_upstream_and_returned(gateway: Gateway) -> None:
    status, headers, body = fetch(
        f"{gateway.url}/api/tags", headers={"X-Request-ID": "client-req.42_A"}
    )
    assert status == 200
    assert json.loads(body)["request_id"] == "client-req.42_A"
    # Exactly one: the service's own echo is replaced by the gateway's.
    assert headers.get_all("X-Request-ID") == ["client-req.42_A"]


@pytest.mark.parametrize("sent", [None, "has spaces", "x" * 129, "semi;colon"])
def test_a_missing_or_odd_request_id_is_replaced(gateway: Gateway, sent: str | None) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    _, response_headers, body = fetch(f"{gateway.url}/api/user", headers=headers)
    given = json.loads(body)["request_id"]
    assert given != sent
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    assert response_headers["X-Request-ID"] == given


def test_json_is_compressed(gateway: Gateway) -> None:
    status, headers, body = fetch(
        f"{gateway.url}/api/tags?big=1", headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["service"] == "articles"


def test_a_too_large_body_is_a_json_413(gateway: Gateway) -> None:
    status, headers, body = fetch(
        f"{gateway.url}/api/users",
        data=b"{}" + b" " * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"errors": {"body": ["request body too large"]}}


def test_a_service_that_is_down_is_a_json_503_with_retry_after(tmp_path: Path) -> None:
    # Nothing listens on these ports: like `make up` before articles and views exist.
    upstreams = {name: [f"127.0.0.1:{free_port()}"] for name in SERVICE_NAMES}
    gateway = Gateway(tmp_path, upstreams=upstreams, supervisor=Supervisor(tmp_path))
    gateway.start()
    try:
        for path in ("/api/user", "/api/articles", "/api/views/popular"):
            status, headers, body = fetch(gateway.url + path, headers={"X-Request-ID": "r-503"})
            assert status == 503, path
            assert headers["Content-Type"] == "application/json"
            assert headers["Retry-After"] == "5"
            assert headers["X-Request-ID"] == "r-503"
            assert json.loads(body) == {"errors": {"body": ["service unavailable, retry shortly"]}}
    finally:
        gateway.stop()
