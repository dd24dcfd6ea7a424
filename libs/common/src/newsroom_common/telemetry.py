"""W3C trace context across HTTP and Kafka, and a tracer provider built after the fork.

With no OTLP endpoint configured nothing is exported and the API's no-op
tracer costs next to nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter


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
    *, service: str, version: str = "0.1.0", exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install a tracer provider for this process; call it after gunicorn forks.

    Does nothing unless an exporter is given: exporting is opt-in.
    """
    if exporter is None:
        return None
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": service,
            "service.version": version,
            "service.namespace": os.environ.get("NEWSROOM_NAMESPACE", "newsroom"),
            # Every worker process is its own instance, so spans never look interleaved.
            "service.instance.id": f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def exporter_from_env() -> SpanExporter | None:
    """An OTLP/HTTP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set, else None."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
