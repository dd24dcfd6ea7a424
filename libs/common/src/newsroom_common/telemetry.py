"""Tracing: W3C trace context across HTTP and Kafka, and a tracer provider built after the fork.

Tracing is on when an exporter is configured (OTEL_EXPORTER_OTLP_ENDPOINT). Only
then are Flask, urllib3 and SQLAlchemy instrumented and spans recorded; by
default nothing is exported and the only work left is propagation: an incoming
`traceparent` is made current (so logs, outgoing calls and stored events carry
it), which costs a header parse per request.

Across Kafka:

- A producer (the outbox relay, the event buffer) sends each message under a
  PRODUCER span whose parent is the context stored with the event (the request
  that caused it); the message then carries that span's `traceparent`, which
  replaces the stored one.
- kafka-python's consumer instrumentation does not see `poll()`, so the runner
  extracts the context itself and handles each batch under one CONSUMER span.
  That span is a *child of the first message's* producer span and has a *link
  to every other message's*. A batch is usually one message when traffic is
  light, and then a reader's request, the produce and the processing are one
  trace that any backend shows whole. A batch of many messages from many traces
  cannot be the child of all of them; links keep each of those traces one click
  away without inventing a parent (OpenTelemetry's messaging conventions link
  batch processing to its messages for the same reason).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from flask import Flask
    from kafka import KafkaProducer
    from sqlalchemy.engine import Engine

TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
# Probes and scrapes would be most of the spans and tell nothing.
EXCLUDED_URLS = "healthz,readyz,metrics"

_lock = threading.Lock()
_enabled = False
# Engines built before tracing started (a worker builds them first): instrumented when it does.
_engines: weakref.WeakSet[Any] = weakref.WeakSet()
tracer = trace.get_tracer("newsroom_common")


def current_trace_headers() -> tuple[str | None, str | None]:
    """`traceparent` and `tracestate` of the active span, if any."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate")


def context_from_headers(headers: Iterable[tuple[str, bytes | None]]) -> otel_context.Context:
    """The trace context carried in Kafka headers (consumers read it themselves)."""
    carrier = {k: v.decode("latin-1") for k, v in headers if v is not None}
    return extract(carrier)


def init_tracing(
    *, service: str, version: str | None = None, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install a tracer provider for this process and instrument its libraries.

    Call it in the process that will trace: gunicorn's `post_fork`, or a worker's
    start. Does nothing unless an exporter is given: exporting is opt-in.
    """
    global _enabled
    if exporter is None:
        return None
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": service,
            "service.version": version or _version(service),
            "service.namespace": os.environ.get("NEWSROOM_NAMESPACE", "newsroom"),
            # Every process is its own instance (each gunicorn worker too), so a backend never
            # mixes two workers' spans up as one instance's.
            "service.instance.id": f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        }
    )
    provider = TracerProvider(resource=resource, sampler=ParentBased(root=NoRootClientSpans()))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    URLLib3Instrumentor().instrument(tracer_provider=provider)
    with _lock:
        _enabled = True
        pending = list(_engines)
    for engine in pending:
        _instrument_engine(engine)
    return provider


def init_worker_tracing(name: str) -> TracerProvider | None:
    """Tracing for a relay or consumer process named `name`, when an endpoint is configured."""
    return init_tracing(service=name, exporter=exporter_from_env())


def exporter_from_env() -> SpanExporter | None:
    """An OTLP/HTTP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set, else None."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")


class NoRootClientSpans(Sampler):
    """Samples every root span except CLIENT ones.

    A query or HTTP call outside any request or batch is housekeeping (readiness
    pings, the relay's polling, key fetches): as root spans they would be most of
    the traffic and answer no question. Inside a traced request they are kept
    (ParentBased decides by the parent).
    """

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        """Drop CLIENT spans, record and sample the rest."""
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        """The sampler's name in the SDK's diagnostics."""
        return "NoRootClientSpans"


def _version(service: str) -> str:
    """The installed version of the service's distribution (newsroom-<service>)."""
    try:
        return importlib.metadata.version(f"newsroom-{service.split('-')[0]}")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# -- HTTP ------------------------------------------------------------------------------------


def instrument_app(app: Flask) -> None:
    """Server spans for `app`'s requests when tracing is on; otherwise continue incoming context.

    Without tracing, the incoming `traceparent` is still made current, so log
    lines, calls to other services and stored events carry the gateway's trace id.
    """
    if _enabled:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(  # type: ignore[no-untyped-call]
            app, excluded_urls=EXCLUDED_URLS
        )
        return
    from flask import g, request

    def attach_incoming() -> None:
        if "traceparent" in request.headers:
            g.trace_token = otel_context.attach(extract(request.headers))

    def detach_incoming(_exc: BaseException | None) -> None:
        token = g.pop("trace_token", None)
        if token is not None:
            otel_context.detach(token)

    app.before_request(attach_incoming)
    app.teardown_request(detach_incoming)


# -- SQL -------------------------------------------------------------------------------------


def instrument_engine(engine: Engine) -> None:
    """A CLIENT span per statement of `engine`, now or once tracing starts in this process."""
    with _lock:
        if not _enabled:
            _engines.add(engine)
            return
    _instrument_engine(engine)


def _instrument_engine(engine: Engine) -> None:
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    # The instrumentor's per-engine form: its `instrument()` works once per process and would
    # patch create_engine too. Pool usage is our own metric (metrics.py), so its meter is a no-op.
    name = "opentelemetry.instrumentation.sqlalchemy"
    usage = get_meter(name).create_up_down_counter("db.client.connections.usage")
    EngineTracer(trace.get_tracer(name), engine, usage)  # type: ignore[no-untyped-call]


# -- Kafka -----------------------------------------------------------------------------------


def send_traced(
    producer: KafkaProducer,
    topic: str,
    *,
    key: bytes | None,
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
    attributes: Mapping[str, Any] | None = None,
) -> Any:
    """`producer.send` under a PRODUCER span that is a child of the context in `headers`.

    The message carries the new span's `traceparent` instead of the stored one,
    so its consumer becomes a child of the send. The span ends when the broker
    acknowledges (or refuses) the message, and links to the span current here (the
    relay's batch), which is not its parent. Without tracing: a plain send.
    """
    if not _enabled:
        return producer.send(topic, key=key, value=value, headers=list(headers))
    here = trace.get_current_span().get_span_context()
    span = tracer.start_span(
        f"send {topic}",
        context=context_from_headers(headers),
        kind=SpanKind.PRODUCER,
        links=[Link(here)] if here.is_valid else None,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            **({"messaging.kafka.message.key": key.decode("utf-8", "replace")} if key else {}),
            **(attributes or {}),
        },
    )
    carrier: dict[str, str] = {}
    inject(carrier, context=trace.set_span_in_context(span))
    traced = [(k, v) for k, v in headers if k not in TRACE_HEADERS]
    traced += [(k, v.encode()) for k, v in carrier.items()]
    try:
        future = producer.send(topic, key=key, value=value, headers=traced)
    except BaseException as exc:
        _end_failed(span, exc)
        raise

    def acknowledged(metadata: Any) -> None:
        span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
        span.set_attribute("messaging.kafka.offset", metadata.offset)
        span.end()

    future.add_callback(acknowledged)
    future.add_errback(lambda exc: _end_failed(span, exc))
    return future


def _end_failed(span: trace.Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.end()


@contextlib.contextmanager
def consumer_batch_span(
    *,
    topic: str,
    group: str,
    message_headers: Sequence[Sequence[tuple[str, bytes]]],
) -> Iterator[trace.Span]:
    """The CONSUMER span of one batch: child of the first message, linked to the others.

    See the module's docstring for why. The batch's SQL nests under it. Without tracing only
    the first message's context is read (log lines carry its trace id): extracting every
    message's was 5% of `make bench-views`' ingestion, for links nobody records.
    """
    heads = message_headers if _enabled else message_headers[:1]
    contexts = [context_from_headers(h) for h in heads]
    links = []
    for ctx in contexts[1:]:
        span_context = trace.get_current_span(ctx).get_span_context()
        if span_context.is_valid:
            links.append(Link(span_context))
    with tracer.start_as_current_span(
        f"process {topic}",
        context=contexts[0] if contexts else None,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.batch.message_count": len(message_headers),
        },
    ) as span:
        yield span
