"""A consumer process through `worker_runtime.run_consumers`: threads, housekeeping, exit.

The process (consumers_process.py) runs its members on threads and its housekeeping on the
main thread, against the real PostgreSQL and Kafka; the tests signal it as Kubernetes does
and read its exit status, probes and output.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from kafka import KafkaProducer

from newsroom_common.events import CloudEvent
from newsroom_devstack.net import free_port
from newsroom_devstack.testing import eventually

pytestmark = pytest.mark.integration

CHILD = Path(__file__).with_name("consumers_process.py")
# What the process has to stop in: the runtime's own stop timeout (3 s here) and the exit.
GRACE_PERIOD_S = 15.0


def _produce(bootstrap: str, topic: str, count: int, **data: Any) -> list[str]:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    ids = []
    for i in range(count):
        event = CloudEvent(
            id=str(uuid.uuid4()),
            source="/test",
            type="dev.test.Counted",
            time=dt.datetime.now(dt.UTC),
            data={"seq": i, **data},
            subject=f"agg-{i}",
        )
        producer.send(topic, key=f"agg-{i}".encode(), value=event.value(), headers=event.headers())
        ids.append(event.id)
    producer.flush()
    producer.close()
    return ids


class ConsumerProcess:
    """The child process, its output and its probe port."""

    def __init__(
        self,
        postgres: Any,
        kafka: Any,
        schema: str,
        topics: list[str],
        log: Path,
        *,
        mode: str = "ok",
        interval_s: float = 60.0,
    ) -> None:
        self.port = free_port()
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(CHILD),
                    postgres.database_url("views"),
                    kafka.bootstrap_servers,
                    schema,
                    str(self.port),
                    mode,
                    str(interval_s),
                    *topics,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def output(self) -> str:
        return self.log.read_text()

    def probe(self, path: str) -> int:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}{path}", timeout=2).status_code
        except requests.ConnectionError:
            return 0

    def housekeeping_rounds(self) -> list[dict[str, str]]:
        return [
            dict(re.findall(r"(round|main_thread|connected|frozen)=(\w+)", round_.group(0)))
            for round_ in re.finditer(
                r"housekeeping round=\d+ main_thread=\w+ connected=\w+ frozen=\d+", self.output()
            )
        ]

    def wait_exit(self, timeout: float, what: str) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the consumer process still runs {timeout}s after {what}:\n{self.output()[-3000:]}"
            ) from None

    def terminate(self) -> int:
        """SIGTERM, as Kubernetes stops a pod; the exit status, within the grace period."""
        self.process.send_signal(signal.SIGTERM)
        return self.wait_exit(GRACE_PERIOD_S, "SIGTERM")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _applied(engine: sa.Engine, schema: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text(f"SELECT count(*) FROM {schema}.effects")) or 0)


@pytest.fixture
def two_topics(kafka: Any, topic: str) -> list[str]:
    """Two fresh topics (and their dead-letter topics): one member each."""
    second = f"test.{uuid.uuid4().hex[:10]}"
    kafka.create_topics({second: 3, f"{second}.dlt": 1})
    return [topic, second]


def test_members_on_threads_consume_housekeep_on_the_main_thread_and_sigterm_exits_0(
    postgres: Any,
    kafka: Any,
    schema_tables: tuple[sa.Engine, str, sa.Table, sa.Table],
    two_topics: list[str],
    tmp_path: Path,
) -> None:
    engine, schema, _, _ = schema_tables
    child = ConsumerProcess(postgres, kafka, schema, two_topics, tmp_path / "consume.log")
    try:
        for topic in two_topics:
            _produce(kafka.bootstrap_servers, topic, 20)
        eventually(
            lambda: _applied(engine, schema) == 40,
            timeout=90,
            interval=0.1,
            what="both members to apply 40 events",
        )
        eventually(
            lambda: child.probe("/readyz") == 200,
            timeout=30,
            interval=0.1,
            what="/readyz to answer 200",
        )
        assert child.probe("/healthz") == 200
        # The interval is 60 s: this first round ran because a member had reached Kafka, not
        # at start (when what a round reads from the broker is not there yet).
        eventually(
            child.housekeeping_rounds,
            timeout=30,
            interval=0.1,
            what="a housekeeping round once a member connected",
        )
        rounds = child.housekeeping_rounds()
        frozen = int(rounds[0].pop("frozen"))
        assert rounds[0] == {"round": "1", "main_thread": "True", "connected": "True"}
        # The startup heap (SQLAlchemy's and kafka-python's modules, the engine) is out of the
        # collector's scans: tens of thousands of objects, where an unfrozen process has 0.
        assert frozen > 10_000, f"only {frozen} objects frozen"

        assert child.terminate() == 0
        assert '"consumers stopped"' in child.output()
    finally:
        child.kill()


def test_a_member_that_crashes_stops_the_others_and_the_process_exits_1(
    postgres: Any,
    kafka: Any,
    schema_tables: tuple[sa.Engine, str, sa.Table, sa.Table],
    two_topics: list[str],
    tmp_path: Path,
) -> None:
    _, schema, _, _ = schema_tables
    child = ConsumerProcess(
        postgres, kafka, schema, two_topics, tmp_path / "consume.log", mode="crash"
    )
    try:
        eventually(
            lambda: child.probe("/readyz") == 200,
            timeout=60,
            interval=0.1,
            what="both members to join their groups",
        )
        _produce(kafka.bootstrap_servers, two_topics[0], 1, poison=True)
        assert child.wait_exit(GRACE_PERIOD_S + 30, "a member's crash") == 1
        assert "consumer stopped on an error" in child.output()
    finally:
        child.kill()


def test_a_member_that_ignores_the_stop_cannot_hold_the_exit(
    postgres: Any,
    kafka: Any,
    schema_tables: tuple[sa.Engine, str, sa.Table, sa.Table],
    two_topics: list[str],
    tmp_path: Path,
) -> None:
    _, schema, _, _ = schema_tables
    child = ConsumerProcess(
        postgres, kafka, schema, two_topics, tmp_path / "consume.log", mode="hang"
    )
    try:
        _produce(kafka.bootstrap_servers, two_topics[0], 1, hang=True)
        eventually(
            lambda: "member hanging" in child.output(),
            timeout=60,
            interval=0.1,
            what="a member to block in a batch",
        )
        started = time.monotonic()
        # Its stop timeout is 3 s: the exit is bounded by it, not by the blocked thread.
        assert child.terminate() == 1
        assert time.monotonic() - started < GRACE_PERIOD_S
        assert "consumers did not stop in time" in child.output()
    finally:
        child.kill()


def test_a_failing_housekeeping_round_is_logged_retried_and_consuming_goes_on(
    postgres: Any,
    kafka: Any,
    schema_tables: tuple[sa.Engine, str, sa.Table, sa.Table],
    two_topics: list[str],
    tmp_path: Path,
) -> None:
    engine, schema, _, _ = schema_tables
    child = ConsumerProcess(
        postgres,
        kafka,
        schema,
        two_topics,
        tmp_path / "consume.log",
        mode="failing-housekeeping",
        interval_s=1.0,
    )
    try:
        eventually(
            lambda: len(child.housekeeping_rounds()) >= 2,
            timeout=60,
            interval=0.1,
            what="a second housekeeping round",
        )
        assert "housekeeping failed" in child.output()
        assert child.process.poll() is None, child.output()[-3000:]
        assert child.probe("/healthz") == 200
        _produce(kafka.bootstrap_servers, two_topics[1], 10)
        eventually(
            lambda: _applied(engine, schema) == 10,
            timeout=90,
            interval=0.1,
            what="10 events applied after the failure",
        )
        assert child.terminate() == 0
    finally:
        child.kill()
