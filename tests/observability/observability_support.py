"""What the observability tests share: an OTLP/HTTP receiver and a client of the traced stack."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from newsroom_devstack.stack import Stack

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


@dataclass(frozen=True)
class Span:
    """One received span, ids in hex as in a traceparent."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    service: str
    instance: str
    attributes: dict[str, Any]
    links: tuple[tuple[str, str], ...]
    resource: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class OtlpReceiver:
    """An OTLP/HTTP endpoint (protobuf at /v1/traces) keeping every span it receives."""

    spans: list[Span] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def add(self, body: bytes) -> None:
        """Decode one ExportTraceServiceRequest."""
        request = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    received.append(
                        Span(
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_id=s.parent_span_id.hex(),
                            name=s.name,
                            kind=KINDS[s.kind],
                            service=str(resource.get("service.name")),
                            instance=str(resource.get("service.instance.id")),
                            attributes={a.key: _value(a.value) for a in s.attributes},
                            links=tuple((ln.trace_id.hex(), ln.span_id.hex()) for ln in s.links),
                            resource=resource,
                        )
                    )
        with self._lock:
            self.spans.extend(received)

    def wait_for(
        self, predicate: Callable[[list[Span]], bool], *, timeout: float = 30.0
    ) -> list[Span]:
        """Wait until `predicate(spans)` holds; return the spans then."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = list(self.spans)
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                names = sorted({(s.service, s.kind, s.name) for s in spans})[:80]
                raise AssertionError(f"spans never arrived; received so far: {names}")
            time.sleep(0.2)


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


@dataclass(frozen=True)
class Account:
    """A registered user of the traced stack."""

    username: str
    token: str


def register(stack: Stack, *, headers: dict[str, str] | None = None) -> Account:
    """Register a fresh user through the gateway."""
    name = f"obs-{uuid.uuid4().hex[:10]}"
    response = requests.post(
        f"{stack.gateway_url}/api/users",
        json={
            "user": {
                "username": name,
                "email": f"{name}@example.com",
                "password": "correct horse 1",
            }
        },
        headers=headers or {},
        timeout=15,
    )
    assert response.status_code == 201, response.text
    return Account(username=name, token=response.json()["user"]["token"])


def gateway_traceparent(stack: Stack, request_id: str, *, timeout: float = 10.0) -> str:
    """The traceparent the gateway's access log recorded for the request `request_id`."""
    deadline = time.monotonic() + timeout
    log_path = stack.process("gateway").log_path
    while time.monotonic() < deadline:
        for line in log_path.read_text(errors="replace").splitlines():
            if request_id in line and line.lstrip().startswith("{"):
                entry = json.loads(line[line.index("{") :])
                if entry.get("request_id") == request_id:
                    return str(entry["traceparent"])
        time.sleep(0.1)
    raise AssertionError(f"no access log line for {request_id}")
