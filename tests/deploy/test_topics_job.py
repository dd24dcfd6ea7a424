"""The topic hook Job's program, as rendered, run against a fake Kafka admin client: it
creates what is missing with the declared partitions and fails on a short topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from deploy_support import CHARTS, Helm, by_name, containers

FAKE_KAFKA = """
import json, os

STATE = os.environ["FAKE_KAFKA_STATE"]


def _load():
    with open(STATE) as f:
        return json.load(f)


def _save(state):
    with open(STATE, "w") as f:
        json.dump(state, f)


class KafkaAdminClient:
    def __init__(self, bootstrap_servers, client_id, bootstrap_timeout_ms):
        state = _load()
        state["bootstrap"] = bootstrap_servers
        _save(state)

    def list_topics(self):
        return list(_load()["topics"])

    def create_topics(self, new_topics, timeout_ms, raise_errors, wait_for_metadata):
        state = _load()
        for name, spec in new_topics.items():
            state["topics"][name] = spec["num_partitions"]
            state["created"][name] = spec
        _save(state)

    def describe_topics(self, names):
        topics = _load()["topics"]
        return [
            {"name": n, "error_code": 0, "partitions": list(range(topics[n]))}
            if n in topics else {"name": n, "error_code": 3, "partitions": []}
            for n in names
        ]

    def close(self):
        pass
"""


@pytest.fixture(scope="module")
def job(helm: Helm) -> dict[str, Any]:
    objects = helm.template(
        CHARTS / "articles",
        values={
            "global": {
                "kafka": {"replicationFactor": 2, "topicConfig": {"min.insync.replicas": "2"}}
            }
        },
    )
    container: dict[str, Any]
    (container,) = containers(by_name(objects, "Job")["newsroom-articles-topics"])
    return container


def run(
    job: dict[str, Any], tmp_path: Path, existing: dict[str, int]
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    (tmp_path / "kafka").mkdir(exist_ok=True)
    (tmp_path / "kafka" / "__init__.py").write_text("")
    (tmp_path / "kafka" / "admin.py").write_text(FAKE_KAFKA)
    (tmp_path / "kafka" / "errors.py").write_text("class KafkaTimeoutError(Exception): ...\n")
    # A stand-in service package declaring topics like newsroom_articles does.
    (tmp_path / "newsroom_articles").mkdir(exist_ok=True)
    (tmp_path / "newsroom_articles" / "__init__.py").write_text("")
    (tmp_path / "newsroom_articles" / "topics.py").write_text(
        textwrap.dedent(
            """
            TOPICS = {"articles.events.v1": 6, "articles.views.v1": 12, "articles.dlt.v1": 3}
            """
        )
    )
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"topics": existing, "created": {}}))
    env = {e["name"]: e["value"] for e in job["env"] if "value" in e}
    command = job["command"]
    assert command[:2] == ["python", "-c"]
    result = subprocess.run(
        [sys.executable, "-c", command[2], *command[3:]],
        env={
            **env,
            "PYTHONPATH": str(tmp_path),
            "FAKE_KAFKA_STATE": str(state),
            "PATH": os.environ.get("PATH", ""),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, json.loads(state.read_text())


def test_creates_missing_topics_with_declared_partitions(
    job: dict[str, Any], tmp_path: Path
) -> None:
    result, state = run(job, tmp_path, existing={"articles.events.v1": 6})
    assert result.returncode == 0, result.stderr
    assert state["bootstrap"] == ["newsroom-kafka-bootstrap:9092"]
    assert state["created"] == {
        "articles.views.v1": {
            "num_partitions": 12,
            "replication_factor": 2,
            "configs": {"min.insync.replicas": "2"},
        },
        "articles.dlt.v1": {
            "num_partitions": 3,
            "replication_factor": 2,
            "configs": {"min.insync.replicas": "2"},
        },
    }
    assert "articles.views.v1: ok (12 partitions)" in result.stdout


def test_is_idempotent(job: dict[str, Any], tmp_path: Path) -> None:
    declared = {"articles.events.v1": 6, "articles.views.v1": 12, "articles.dlt.v1": 3}
    result, state = run(job, tmp_path, existing=declared)
    assert result.returncode == 0, result.stderr
    assert state["created"] == {}


def test_fails_on_a_topic_with_fewer_partitions_than_declared(
    job: dict[str, Any], tmp_path: Path
) -> None:
    result, _ = run(job, tmp_path, existing={"articles.views.v1": 6})
    assert result.returncode != 0
    assert "articles.views.v1: 6 partitions, 12 declared" in result.stderr


def test_waits_for_a_broker_then_fails_naming_it(job: dict[str, Any]) -> None:
    """The real kafka-python against an address where nothing listens: the Job waits (the
    release may start before the brokers), then gives up within its bound, naming Kafka."""
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the socket is: nothing listens there
    env = {e["name"]: e["value"] for e in job["env"] if "value" in e}
    assert env["NEWSROOM_TOPICS_WAIT_SECONDS"] == "180"
    env |= {"NEWSROOM_TOPICS_WAIT_SECONDS": "5", "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
    command = job["command"]
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", command[2], "newsroom_articles"],
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"Kafka at 127.0.0.1:{port} did not answer within 5s" in result.stderr
    assert time.monotonic() - started >= 5


def test_the_fake_matches_kafka_pythons_admin_client() -> None:
    import inspect

    from kafka.admin import KafkaAdminClient

    create = inspect.signature(KafkaAdminClient.create_topics).parameters
    assert {"new_topics", "timeout_ms", "raise_errors", "wait_for_metadata"} <= set(create)
    assert "topics" in inspect.signature(KafkaAdminClient.describe_topics).parameters
    config = set(KafkaAdminClient.DEFAULT_CONFIG)
    assert {"bootstrap_servers", "client_id", "bootstrap_timeout_ms"} <= config
