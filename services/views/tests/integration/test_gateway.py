"""Reads through the real gateway count exactly once: across a consumer SIGKILL, a second
member joining mid-stream, and every event produced twice."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from newsroom_devstack.net import free_port
from newsroom_devstack.stack import Stack

from .conftest import readyz, wait_for

VIEWS_TOPIC = "articles.views.v1"

pytestmark = pytest.mark.e2e


class Gateway:
    """JSON requests to the gateway with an optional token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return self.session.request(
            method, self.base_url + path, headers=headers, timeout=15, **kwargs
        )

    def register(self) -> tuple[str, str]:
        name = f"v{uuid.uuid4().hex[:10]}"
        response = self.call(
            "POST",
            "/api/users",
            json={
                "user": {
                    "username": name,
                    "email": f"{name}@example.com",
                    "password": "pw-12345678",
                }
            },
        )
        assert response.status_code == 201, response.text
        return name, response.json()["user"]["token"]

    def total(self, slug: str) -> int | None:
        response = self.call("GET", f"/api/articles/{slug}/views")
        return response.json()["views"]["total"] if response.status_code == 200 else None


def _idle(probes: str) -> bool:
    lag = readyz(probes).get("groups", {}).get("views-ingest", {}).get("lag")
    return bool(lag) and not any(lag.values())


def _consumer_idle(stack: Stack) -> bool:
    return _idle(stack.probe_url("views-consume"))


def _second_member_assigned(probes: str) -> bool:
    return bool(readyz(probes).get("groups", {}).get("views-ingest", {}).get("lag"))


def _start_second_consumer(stack: Stack, log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Another `newsroom-views consume`, as a second replica of the consumer workload."""
    port = free_port()
    env = {
        **os.environ,
        **stack.env("views"),
        "VIEWS_WORKER_HTTP_PORT": str(port),
        "VIEWS_LAG_REFRESH_SECONDS": "0.5",
    }
    with (log_dir / "second-consumer.log").open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "newsroom-views"), "consume"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}"


def _produce_again(stack: Stack, slug: str) -> int:
    """Send every ArticleViewed of `slug` on articles.views.v1 once more, ids unchanged."""
    consumer = KafkaConsumer(
        bootstrap_servers=stack.kafka.bootstrap_servers, enable_auto_commit=False
    )
    partitions = [
        TopicPartition(VIEWS_TOPIC, p) for p in consumer.partitions_for_topic(VIEWS_TOPIC)
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(partitions)
    records = []
    while any(consumer.position(tp) < ends[tp] for tp in partitions):
        for batch in consumer.poll(timeout_ms=500).values():
            records += [r for r in batch if orjson.loads(r.value).get("slug") == slug]
    consumer.close()
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap_servers, acks="all")
    for r in records:
        producer.send(VIEWS_TOPIC, key=r.key, value=r.value, headers=r.headers)
    producer.flush()
    producer.close()
    return len(records)


def test_reads_through_the_gateway_count_exactly_once_across_kill_join_and_replay(
    stack: Stack, tmp_path: Path
) -> None:
    gateway = Gateway(stack.gateway_url)
    author, author_token = gateway.register()
    _, reader_token = gateway.register()
    created = gateway.call(
        "POST",
        "/api/articles",
        token=author_token,
        json={
            "article": {"title": f"Read me {uuid.uuid4().hex[:6]}", "description": "d", "body": "b"}
        },
    )
    assert created.status_code == 201, created.text
    slug = created.json()["article"]["slug"]

    def read(times: int) -> None:
        # Signed-in reads: a gateway cache of anonymous reads would hide some of them.
        for _ in range(times):
            assert (
                gateway.call("GET", f"/api/articles/{slug}", token=reader_token).status_code == 200
            )

    read(20)
    wait_for(lambda: gateway.total(slug) == 20, timeout=60, what="20 reads counted")

    consumer = stack.process("views-consume")
    read(15)
    consumer.kill()
    read(15)
    consumer.start()
    wait_for(lambda: gateway.total(slug) == 50, timeout=90, what="50 reads counted")
    wait_for(lambda: _consumer_idle(stack), timeout=60, what="the consumer caught up")
    assert gateway.total(slug) == 50

    # A second member joins mid-stream; then every view of the article is produced again.
    second = _start_second_consumer(stack, tmp_path)
    try:
        read(10)
        wait_for(lambda: _second_member_assigned(second[1]), timeout=60, what="a rebalance")
        read(10)
        wait_for(lambda: gateway.total(slug) == 70, timeout=90, what="70 reads counted")
        replayed = _produce_again(stack, created.json()["article"]["slug"])
        assert replayed == 70
        wait_for(lambda: _consumer_idle(stack), timeout=60, what="the replays handled")
        wait_for(lambda: _idle(second[1]), timeout=60, what="the replays handled")
        assert gateway.total(slug) == 70
    finally:
        second[0].terminate()
        second[0].wait(timeout=30)

    popular = gateway.call("GET", "/api/views/popular?window=1h&limit=100").json()["popular"]
    mine = [p for p in popular if p["slug"] == slug]
    assert mine == [
        {
            "slug": slug,
            "title": created.json()["article"]["title"],
            "author": {"username": author},
            "views": 70,
        }
    ]

    assert gateway.call("DELETE", f"/api/articles/{slug}", token=author_token).status_code in (
        200,
        204,
    )
    wait_for(lambda: gateway.total(slug) is None, timeout=60, what="the deleted article gone")
    popular = gateway.call("GET", "/api/views/popular?window=1h&limit=100").json()["popular"]
    assert slug not in {p["slug"] for p in popular}
