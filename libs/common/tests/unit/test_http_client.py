"""ServiceClient against a real HTTP server on loopback: what it retries, what it reports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from newsroom_common.errors import Unavailable
from newsroom_common.http_client import CircuitBreaker, ServiceClient
from newsroom_devstack.net import LOOPBACK, free_port


class _Peer(BaseHTTPRequestHandler):
    """Answers from the server's script: a list of (status, body), one per request, the last
    one repeated; records each request's method and path."""

    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path))
        script = self.server.script
        status, body = script.pop(0) if len(script) > 1 else script[0]
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `seen` instead."""


class _Server(ThreadingHTTPServer):
    seen: list[tuple[str, str]]
    script: list[tuple[int, str]]


@pytest.fixture
def peer() -> Iterator[_Server]:
    server = _Server((LOOPBACK, 0), _Peer)
    server.seen, server.script = [], [(200, "{}")]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _url(server: _Server) -> str:
    return f"http://{LOOPBACK}:{server.server_address[1]}"


def test_get_json_gives_the_status_and_the_parsed_body(peer: _Server) -> None:
    peer.script = [(200, '{"profile": {"username": "ada"}}')]
    client = ServiceClient(_url(peer) + "/internal/")
    assert client.get_json("/users/1/profile") == (200, {"profile": {"username": "ada"}})
    assert peer.seen == [("GET", "/internal/users/1/profile")]


def test_a_body_that_is_not_json_is_none(peer: _Server) -> None:
    peer.script = [(404, "not found")]
    assert ServiceClient(_url(peer)).get_json("/x") == (404, None)


def test_a_get_is_retried_on_503_and_gets_the_answer(peer: _Server) -> None:
    peer.script = [(503, "{}"), (200, '{"ok": true}')]
    assert ServiceClient(_url(peer), retries=1).get_json("/x") == (200, {"ok": True})
    assert [method for method, _ in peer.seen] == ["GET", "GET"]


def test_a_post_is_not_retried_and_a_5xx_is_unavailable(peer: _Server) -> None:
    peer.script = [(503, "{}"), (200, "{}")]
    with pytest.raises(Unavailable, match="answered 503"):
        ServiceClient(_url(peer), retries=2).request("POST", "/x", body=b"{}")
    assert peer.seen == [("POST", "/x")]


def test_a_peer_that_is_down_is_unavailable_and_then_not_called_until_the_breaker_resets() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=60)
    client = ServiceClient(f"http://{LOOPBACK}:{free_port()}", retries=0, breaker=breaker)
    for _ in range(2):
        with pytest.raises(Unavailable, match="is unavailable") as refused:
            client.get_json("/x")
        assert refused.value.__cause__ is not None  # the connection error, not the breaker
    with pytest.raises(Unavailable, match="is unavailable") as short_cut:
        client.get_json("/x")
    assert short_cut.value.__cause__ is None
