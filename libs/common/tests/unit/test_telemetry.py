"""Trace context across Kafka (produce and batch consume), the sampler, and request spans."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind

from newsroom_common import telemetry
from newsroom_common.logs import JsonFormatter
from newsroom_common.web import create_base_app

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on, as init_tracing leaves it, with spans kept in memory."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        # The global provider can be set once per process: every test shares this one.
        provider = TracerProvider(sampler=ParentBased(root=telemetry.NoRootClientSpans()))
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    monkeypatch.setattr(telemetry, "_enabled", True)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


@dataclass
class FakeFuture:
    """kafka-python's FutureRecordMetadata, as far as send_traced uses it."""

    callbacks: list[Any] = field(default_factory=list)
    errbacks: list[Any] = field(default_factory=list)

    def add_callback(self, fn: Any) -> None:
        self.callbacks.append(fn)

    def add_errback(self, fn: Any) -> None:
        self.errbacks.append(fn)


@dataclass
class FakeProducer:
    """Records what was sent."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, topic: str, **kwargs: Any) -> FakeFuture:
        future = FakeFuture()
        self.sent.append({"topic": topic, "future": future, **kwargs})
        return future


@dataclass(frozen=True)
class Metadata:
    partition: int
    offset: int


STORED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _ids(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    assert context is not None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def test_a_send_is_a_producer_span_child_of_the_stored_context_and_travels_in_its_place(
    spans: InMemorySpanExporter,
) -> None:
    producer = FakeProducer()
    headers = [("ce_id", b"1"), ("traceparent", STORED.encode()), ("tracestate", b"k=v")]
    telemetry.send_traced(producer, "t.v1", key=b"k", value=b"{}", headers=headers)
    (message,) = producer.sent
    assert not spans.get_finished_spans(), "the span ends when the broker acknowledges"
    message["future"].callbacks[0](Metadata(partition=2, offset=41))

    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.PRODUCER
    assert span.name == "send t.v1"
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    trace_id, span_id = _ids(span)
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    sent = dict(message["headers"])
    assert sent["traceparent"] == f"00-{trace_id}-{span_id}-01".encode()
    assert sent["tracestate"] == b"k=v"
    assert sent["ce_id"] == b"1"
    assert [k for k, _ in message["headers"]].count("traceparent") == 1
    assert span.attributes is not None
    assert span.attributes["messaging.destination.partition.id"] == "2"


def test_a_refused_send_ends_its_span_as_an_error(spans: InMemorySpanExporter) -> None:
    producer = FakeProducer()
    telemetry.send_traced(producer, "t.v1", key=None, value=b"{}", headers=[])
    producer.sent[0]["future"].errbacks[0](TimeoutError("no ack"))
    (span,) = spans.get_finished_spans()
    assert not span.status.is_ok
    assert span.parent is None


def test_without_tracing_a_send_is_a_plain_send(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_enabled", False)
    producer = FakeProducer()
    headers = [("traceparent", STORED.encode())]
    telemetry.send_traced(producer, "t.v1", key=b"k", value=b"{}", headers=headers)
    assert producer.sent[0]["headers"] == headers


def test_a_batch_span_is_a_child_of_its_first_message_and_linked_to_the_others(
    spans: InMemorySpanExporter,
) -> None:
    parents = [
        f"00-{n:032x}-{n:016x}-01".encode() for n in (0xA1, 0xB2, 0xC3)
    ]  # three requests' traces
    batch = [[("traceparent", p)] for p in parents] + [[("ce_id", b"untraced")]]
    with telemetry.consumer_batch_span(topic="t.v1", group="g", message_headers=batch):
        pass
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.CONSUMER
    assert span.name == "process t.v1"
    assert span.parent is not None
    assert (span.parent.trace_id, span.parent.span_id) == (0xA1, 0xA1)
    assert [(ln.context.trace_id, ln.context.span_id) for ln in span.links] == [
        (0xB2, 0xB2),
        (0xC3, 0xC3),
    ]
    assert span.attributes is not None
    assert span.attributes["messaging.batch.message_count"] == 4


def test_housekeeping_clients_outside_a_trace_are_not_sampled(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("SELECT 1", kind=SpanKind.CLIENT):
        pass
    with (
        tracer.start_as_current_span("GET /x", kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT articles", kind=SpanKind.CLIENT),
    ):
        pass
    assert sorted(s.name for s in spans.get_finished_spans()) == ["GET /x", "SELECT articles"]


def _app() -> Flask:
    app = create_base_app("newsroom_tracedemo", readiness={})

    @app.get("/things/<slug>")
    def thing(slug: str) -> dict[str, str]:
        # The formatter reads the current span and request id, as every log line does.
        line = JsonFormatter("demo").format(logging.makeLogRecord({"msg": slug}))
        return {"log": line}

    return app


def test_a_traced_request_is_a_server_span_continuing_the_gateway_trace(
    spans: InMemorySpanExporter,
) -> None:
    response = (
        _app()
        .test_client()
        .get("/things/a", headers={"traceparent": STORED, "X-Request-ID": "req-1"})
    )
    assert response.status_code == 200
    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"
    trace_id, span_id = _ids(server)
    assert response.json is not None
    assert '"request_id":"req-1"' in response.json["log"]
    assert f'"trace_id":"{trace_id}"' in response.json["log"]
    assert f'"span_id":"{span_id}"' in response.json["log"]


def test_untraced_a_request_still_carries_the_incoming_trace_to_logs_and_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(telemetry, "_enabled", False)
    response = _app().test_client().get("/things/a", headers={"traceparent": STORED})
    assert response.json is not None
    assert '"trace_id":"0af7651916cd43dd8448eb211c80319c"' in response.json["log"]
    assert '"span_id":"b7ad6b7169203331"' in response.json["log"]
