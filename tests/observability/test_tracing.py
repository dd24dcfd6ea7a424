"""One trace across the gateway, HTTP, SQL and Kafka, on the traced stack."""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from observability_support import OtlpReceiver, Span, gateway_traceparent, register

from newsroom_devstack.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def consumed_after(spans: list[Span], producer: Span, service: str) -> Span | None:
    """The CONSUMER span of `service` that is a child of, or linked to, `producer`."""
    for s in spans:
        if s.kind == "CONSUMER" and s.service == service:
            if (s.trace_id, s.parent_id) == (producer.trace_id, producer.span_id):
                return s
            if (producer.trace_id, producer.span_id) in s.links:
                return s
    return None


def test_reading_an_article_is_one_trace_from_the_gateway_to_the_views_consumer(
    traced_stack: Stack, otlp_receiver: OtlpReceiver
) -> None:
    author = register(traced_stack)
    created = requests.post(
        f"{traced_stack.gateway_url}/api/articles",
        json={
            "article": {"title": f"Traced {uuid.uuid4().hex[:8]}", "description": "-", "body": "-"}
        },
        headers={"Authorization": f"Token {author.token}"},
        timeout=15,
    )
    assert created.status_code == 201, created.text
    slug = created.json()["article"]["slug"]

    # No traceparent from the client: the gateway starts the trace.
    request_id = f"obs-read-{uuid.uuid4().hex}"
    read = requests.get(
        f"{traced_stack.gateway_url}/api/articles/{slug}",
        headers={"X-Request-ID": request_id},
        timeout=15,
    )
    assert read.status_code == 200, read.text
    version, trace_id, gateway_span, flags = gateway_traceparent(traced_stack, request_id).split(
        "-"
    )
    assert (version, flags, len(trace_id), len(gateway_span)) == ("00", "01", 32, 16)

    def complete(spans: list[Span]) -> bool:
        producers = [
            s
            for s in spans
            if s.trace_id == trace_id and s.kind == "PRODUCER" and s.service == "articles"
        ]
        return bool(producers) and consumed_after(spans, producers[0], "views-consume") is not None

    spans = otlp_receiver.wait_for(complete)
    in_trace = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in in_trace}

    (handler,) = [s for s in in_trace if s.kind == "SERVER"]
    assert handler.service == "articles"
    assert handler.parent_id == gateway_span
    assert handler.attributes.get("http.route") == "/api/articles/<article_slug:slug>"

    sql = [s for s in in_trace if s.kind == "CLIENT" and s.attributes.get("db.system")]
    assert sql, "the handler's SQL is traced"
    assert all(_descends_from(s, handler, by_id) for s in sql)

    (produce,) = [s for s in in_trace if s.kind == "PRODUCER"]
    assert produce.name == "send articles.views.v1"
    assert _descends_from(produce, handler, by_id)

    consume = consumed_after(spans, produce, "views-consume")
    assert consume is not None
    assert consume.name == "process articles.views.v1"
    assert consume.attributes["messaging.consumer.group.name"]


def test_a_users_write_continues_through_the_outbox_relay_to_the_articles_consumer(
    traced_stack: Stack, otlp_receiver: OtlpReceiver
) -> None:
    # The client's own trace is continued, not replaced.
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    register(traced_stack, headers={"traceparent": f"00-{trace_id}-{client_span}-01"})

    def complete(spans: list[Span]) -> bool:
        relayed = [
            s
            for s in spans
            if s.trace_id == trace_id and s.kind == "PRODUCER" and s.service == "users-relay"
        ]
        return any(consumed_after(spans, p, "articles-consume") for p in relayed)

    spans = otlp_receiver.wait_for(complete)
    in_trace = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in in_trace}
    (handler,) = [s for s in in_trace if s.kind == "SERVER"]
    assert (handler.service, handler.parent_id) == ("users", client_span)

    relayed = [s for s in in_trace if s.kind == "PRODUCER" and s.service == "users-relay"]
    assert all(p.name == "send users.events.v1" for p in relayed)
    assert all(_descends_from(p, handler, by_id) for p in relayed)
    # The relay's batch span is linked, not a parent: the write's trace stays the parent.
    relay_batches = {(s.trace_id, s.span_id) for s in spans if s.name == "outbox relay"}
    assert all(set(p.links) & relay_batches for p in relayed)

    applied = next(c for p in relayed if (c := consumed_after(spans, p, "articles-consume")))
    assert applied.name == "process users.events.v1"
    # The replica's SQL runs inside the consumer's span.
    assert any(s.parent_id == applied.span_id and s.attributes.get("db.system") for s in spans), (
        "the consumer's SQL is traced under its batch span"
    )


def test_every_gunicorn_worker_is_an_instance_of_its_service(
    traced_stack: Stack, otlp_receiver: OtlpReceiver
) -> None:
    account = register(traced_stack)
    url = f"{traced_stack.service_url('users')}/api/profiles/{account.username}"

    def one(_: int) -> int:
        # A connection per request, so both workers accept some.
        return requests.get(url, headers={"Connection": "close"}, timeout=10).status_code

    def instances(spans: list[Span]) -> set[str]:
        return {s.instance for s in spans if s.service == "users" and s.kind == "SERVER"}

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(10):
            assert set(pool.map(one, range(20))) == {200}
            if len(instances(list(otlp_receiver.spans))) >= 2:
                break
    spans = otlp_receiver.wait_for(lambda spans: len(instances(spans)) >= 2)
    server = next(s for s in spans if s.service == "users" and s.kind == "SERVER")
    assert server.resource["service.namespace"] == "newsroom"
    assert server.resource["service.version"]
    # <host>-<pid>-<random>: two workers, two processes.
    assert len({i.rsplit("-", 2)[1] for i in instances(spans)}) >= 2


def _descends_from(span: Span, ancestor: Span, by_id: dict[str, Span]) -> bool:
    seen = span
    while seen.parent_id in by_id:
        seen = by_id[seen.parent_id]
        if seen.span_id == ancestor.span_id:
            return True
    return False


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", True),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", True),
        ("00-00000000000000000000000000000000-b7ad6b7169203331-01", False),
        ("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", False),
        ("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", False),
        ("nonsense", False),
    ],
)
def test_the_gateway_keeps_a_valid_traceparent_and_replaces_any_other(
    traced_stack: Stack, sent: str, kept: bool
) -> None:
    request_id = f"obs-tp-{uuid.uuid4().hex}"
    requests.get(
        f"{traced_stack.gateway_url}/api/tags",
        headers={"X-Request-ID": request_id, "traceparent": sent},
        timeout=15,
    )
    passed = gateway_traceparent(traced_stack, request_id)
    if kept:
        assert passed == sent
    else:
        version, trace_id, parent, flags = passed.split("-")
        assert (version, flags) == ("00", "01")
        assert trace_id != "0" * 32
        assert parent == trace_id[16:]
