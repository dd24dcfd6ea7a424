"""A traced stack of its own: every process exports spans to an OTLP receiver in this process.

The session's `stack` runs untraced (as production does by default) and its consumer groups
would compete for the same partitions, so these tests start a second, private platform: its
own PostgreSQL cluster and Kafka broker, two gunicorn workers per API (to check that metrics
sum over workers), and OTEL_EXPORTER_OTLP_ENDPOINT pointing at `OtlpReceiver`.
"""

from __future__ import annotations

import gzip
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from newsroom_devstack.gateway import GatewaySettings
from newsroom_devstack.kafka import kafka_from_env
from newsroom_devstack.paths import cache_dir
from newsroom_devstack.postgres import postgres_from_env
from newsroom_devstack.stack import Stack, StackOptions
from newsroom_devstack.supervisor import Supervisor

# The tests share helpers that live beside them (as tests/deploy does).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from observability_support import OtlpReceiver


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """The receiver, listening on a free loopback port."""
    receiver = OtlpReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                receiver.add(body)
                status = 200
            else:
                status = 404
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="otlp-receiver", daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def traced_stack(devstack_supervisor: Supervisor, otlp_receiver: OtlpReceiver) -> Iterator[Stack]:
    """A platform of its own whose every process exports its spans to `otlp_receiver`."""
    root = devstack_supervisor.run_dir / "traced"
    root.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(root)
    stack = Stack(
        root,
        cache_dir(),
        supervisor=supervisor,
        options=StackOptions(
            # The services' default: two gunicorn workers per API.
            api_workers=None,
            gateway=GatewaySettings(cache=False),
            extra_env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.url,
                # Export within a tenth of a second instead of five, so tests wait less.
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            },
        ),
        postgres=postgres_from_env(root, supervisor=supervisor),
        kafka=kafka_from_env(root, cache_dir(), supervisor=supervisor),
    )
    try:
        stack.start()
        yield stack
    finally:
        supervisor.stop_all()
    shutil.rmtree(root, ignore_errors=True)
