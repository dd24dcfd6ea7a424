"""The consumer runner against real PostgreSQL and Kafka: exactly-once effect, dead letters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from newsroom_common.consumer import ConsumerRunner
from newsroom_common.events import CloudEvent
from newsroom_common.worker import StopFlag
from newsroom_devstack.testing import eventually

from .outage import Outage

pytestmark = pytest.mark.integration

CHILD = Path(__file__).with_name("consumer_process.py")


def _event(i: int, **extra: Any) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/test",
        type="dev.test.Counted",
        time=__import__("datetime").datetime.now(__import__("datetime").UTC),
        data={"seq": i, **extra},
        subject=f"agg-{i % 5}",
    )


def _produce(bootstrap: str, topic: str, events: list[CloudEvent], *, twice: bool = False) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for event in events * (2 if twice else 1):
        producer.send(
            topic, key=(event.subject or "").encode(), value=event.value(), headers=event.headers()
        )
    producer.flush()
    producer.close()


def _start(
    postgres: Any,
    kafka: Any,
    topic: str,
    schema: str,
    group: str,
    log: Path,
    *,
    database_url: str | None = None,
) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        str(CHILD),
        database_url or postgres.database_url("views"),
        kafka.bootstrap_servers,
        topic,
        schema,
        group,
    ]
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )


def _applied(engine: sa.Engine, schema: str) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(f"SELECT count(*), coalesce(sum(applied), 0) FROM {schema}.effects")
        ).one()
    return int(row[0]), int(row[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _committed(bootstrap: str, group: str, topic: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


def _wait_committed(bootstrap: str, group: str, topic: str, offsets: int) -> None:
    """Wait until the group's offsets on `topic` add up to `offsets` (the end, in these tests)."""
    eventually(
        lambda: _committed(bootstrap, group, topic) == offsets,
        timeout=30,
        interval=0.1,
        what="offsets committed to the end",
    )


def test_killed_mid_batch_and_restarted_applies_each_event_once(
    postgres: Any, kafka: Any, topic: str, schema_tables: Any, tmp_path: Path
) -> None:
    engine, schema, _, _ = schema_tables
    group = f"group-{uuid.uuid4().hex[:8]}"
    events = [_event(i) for i in range(400)]
    # Delivered twice: the duplicates must change nothing either.
    _produce(kafka.bootstrap_servers, topic, events, twice=True)
    child = _start(postgres, kafka, topic, schema, group, tmp_path / "consumer.log")
    try:
        eventually(
            lambda: _applied(engine, schema)[0] >= 60,
            timeout=60,
            interval=0.1,
            what="the first batches",
        )
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        partway = _applied(engine, schema)[0]
        assert 0 < partway < len(events)
    finally:
        _stop(child)
    child = _start(postgres, kafka, topic, schema, group, tmp_path / "consumer.log")
    try:
        eventually(
            lambda: _applied(engine, schema)[0] == len(events),
            timeout=90,
            interval=0.1,
            what="every event",
        )
        _wait_committed(kafka.bootstrap_servers, group, topic, 2 * len(events))
    finally:
        _stop(child)
    distinct, total = _applied(engine, schema)
    assert (distinct, total) == (len(events), len(events))


def test_the_next_batch_is_polled_while_one_is_applied_and_offsets_wait_for_its_commit(
    kafka: Any, topic: str, schema_tables: Any
) -> None:
    engine, schema, _, processed = schema_tables
    group = f"group-{uuid.uuid4().hex[:8]}"
    events = [_event(i) for i in range(60)]
    _produce(kafka.bootstrap_servers, topic, events)
    first_held, release = threading.Event(), threading.Event()
    applied: list[tuple[str, str, int]] = []  # (thread, subject, seq), in the order applied

    def handle(conn: sa.Connection, batch: Any) -> None:
        for event in batch:
            applied.append((threading.current_thread().name, event.subject, event.data["seq"]))
            conn.execute(
                sa.text(f"INSERT INTO {schema}.effects (event_id, applied) VALUES (:id, 1)"),
                {"id": event.id},
            )
        if not first_held.is_set():
            # The first batch's transaction stays open until the test has seen the next poll.
            first_held.set()
            assert release.wait(60), "the test never released the first batch"

    runner = ConsumerRunner(
        engine=engine,
        processed_events=processed,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        topics=[topic],
        handler=handle,
        dead_letter_topic=f"{topic}.dlt",
        producer_factory=lambda: KafkaProducer(bootstrap_servers=kafka.bootstrap_servers),
        max_batch=20,
        lag_refresh_s=60.0,
    )
    runner.start()
    assert runner.consumer is not None
    # The real consumer's poll, counted: the records polled before the first batch could
    # commit (it cannot before `release`).
    polled_before_release: list[int] = []
    poll = runner.consumer.poll

    def counted_poll(**kwargs: Any) -> Any:
        records = poll(**kwargs)
        if not release.is_set():
            polled_before_release.append(sum(len(batch) for batch in records.values()))
        return records

    runner.consumer.poll = counted_poll
    stop = StopFlag()
    member = threading.Thread(target=runner.run, args=(stop,), name="member")
    member.start()
    try:
        assert first_held.wait(60), "no first batch within 60 s"
        first_batch = len(applied)
        eventually(
            lambda: sum(polled_before_release) > first_batch,
            timeout=30,
            interval=0.05,
            what="the next batch polled while the first one is applied",
        )
        # Nothing of the open transaction is visible, and no offset moved past it.
        assert _applied(engine, schema) == (0, 0)
        assert _committed(kafka.bootstrap_servers, group, topic) == 0
        release.set()
        eventually(
            lambda: _applied(engine, schema) == (60, 60),
            timeout=60,
            interval=0.1,
            what="every event applied once",
        )
        _wait_committed(kafka.bootstrap_servers, group, topic, 60)
    finally:
        release.set()
        stop.set()
        member.join(timeout=30)
    assert not member.is_alive()
    # Applied on the member's applier thread, never the polling one; per key (per partition)
    # in the order produced, batch after batch.
    assert {thread for thread, _, _ in applied} == {f"{group}-apply_0"}
    for subject in {s for _, s, _ in applied}:
        seqs = [seq for _, s, seq in applied if s == subject]
        assert seqs == sorted(seqs), f"{subject} applied out of order: {seqs}"


def test_poison_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(
    postgres: Any, kafka: Any, topic: str, schema_tables: Any, tmp_path: Path
) -> None:
    engine, schema, _, _ = schema_tables
    group = f"group-{uuid.uuid4().hex[:8]}"
    good = [_event(i) for i in range(30)]
    poison = _event(1000, poison=True)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    # Every message on one partition, poison in the middle: the rest must still flow.
    for event in good[:10]:
        producer.send(topic, partition=0, value=event.value(), headers=event.headers())
    producer.send(topic, partition=0, value=b"not even json", headers=[("ce_id", b"x")])
    producer.send(topic, partition=0, value=poison.value(), headers=poison.headers())
    for event in good[10:]:
        producer.send(topic, partition=0, value=event.value(), headers=event.headers())
    producer.flush()
    producer.close()
    child = _start(postgres, kafka, topic, schema, group, tmp_path / "consumer.log")
    try:
        eventually(
            lambda: _applied(engine, schema)[0] == len(good),
            timeout=60,
            interval=0.1,
            what="the good events",
        )
        eventually(
            lambda: _committed(kafka.bootstrap_servers, group, topic) == len(good) + 2,
            timeout=30,
            interval=0.1,
            what="the offset to move past the poison",
        )
    finally:
        _stop(child)
    dlt = KafkaConsumer(
        f"{topic}.dlt",
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=5000,
    )
    dead = list(dlt)
    dlt.close()
    assert len(dead) == 2
    reasons = {dict(m.headers)["dlt_error"].decode() for m in dead}
    assert any("missing CloudEvents headers" in r for r in reasons)
    assert any("can never be applied" in r for r in reasons)
    assert all(dict(m.headers)["dlt_original_topic"].decode() == topic for m in dead)
    assert _applied(engine, schema) == (len(good), len(good))


def test_a_broker_outage_stops_no_consumer_and_loses_nothing(
    postgres: Any, kafka: Any, topic: str, schema_tables: Any, tmp_path: Path
) -> None:
    engine, schema, _, _ = schema_tables
    group = f"group-{uuid.uuid4().hex[:8]}"
    before = [_event(i) for i in range(100)]
    _produce(kafka.bootstrap_servers, topic, before)
    child = _start(postgres, kafka, topic, schema, group, tmp_path / "consumer.log")
    try:
        eventually(
            lambda: _applied(engine, schema)[0] == len(before),
            timeout=60,
            interval=0.1,
            what="the first events",
        )
        kafka.stop()
        try:
            # Down for longer than a heartbeat interval (3 s): kafka-python's coordinator lookup
            # fails while the member polls, and poll raises it (it stopped views' consumers).
            time.sleep(8)
        finally:
            kafka.start()
        after = [_event(i) for i in range(100, 200)]
        _produce(kafka.bootstrap_servers, topic, after)
        eventually(
            lambda: _applied(engine, schema)[0] == 200,
            timeout=120,
            interval=0.1,
            what="the events sent after",
        )
        assert child.poll() is None, (tmp_path / "consumer.log").read_text()[-3000:]
    finally:
        _stop(child)
    assert _applied(engine, schema) == (200, 200)


# A pod's time after SIGTERM: its terminationGracePeriodSeconds less the preStop drain
# (charts/newsroom-lib, _workloads.tpl).
GRACE_PERIOD_S = 30


def test_sigterm_during_a_database_outage_exits_within_the_grace_period_losing_nothing(
    postgres: Any, kafka: Any, topic: str, schema_tables: Any, tmp_path: Path
) -> None:
    engine, schema, _, _ = schema_tables
    group = f"group-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "consumer.log"
    direct = sa.engine.make_url(postgres.database_url("views"))
    before = [_event(i) for i in range(50)]
    during = [_event(i) for i in range(50, 100)]
    with Outage((direct.host or "127.0.0.1", direct.port or 5432)) as outage:
        proxied = direct.set(host="127.0.0.1", port=outage.port)
        child = _start(
            postgres,
            kafka,
            topic,
            schema,
            group,
            log,
            database_url=proxied.render_as_string(hide_password=False),
        )
        try:
            _produce(kafka.bootstrap_servers, topic, before)
            eventually(
                lambda: _applied(engine, schema)[0] == len(before),
                timeout=60,
                interval=0.1,
                what="the first events",
            )
            outage.cut()
            _produce(kafka.bootstrap_servers, topic, during)
            eventually(
                lambda: "database unavailable" in log.read_text(),
                timeout=60,
                interval=0.1,
                what="the consumer to retry a batch against the database that is down",
            )
            stopping = time.monotonic()
            child.send_signal(signal.SIGTERM)
            try:
                status = child.wait(timeout=GRACE_PERIOD_S)
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"still running {GRACE_PERIOD_S}s after SIGTERM:\n{log.read_text()[-3000:]}"
                ) from None
            assert status == 0, log.read_text()[-3000:]
            # It gave up the batch it was retrying: the backoff woke on the stop.
            assert "stopping with a batch of" in log.read_text(), log.read_text()[-3000:]
            print(f"SIGTERM to exit: {time.monotonic() - stopping:.2f} s")
        finally:
            _stop(child)
    # The batch it gave up on was never committed: the next member applies it, once.
    child = _start(postgres, kafka, topic, schema, group, log)
    try:
        eventually(
            lambda: _applied(engine, schema)[0] == 100,
            timeout=60,
            interval=0.1,
            what="every event after the outage",
        )
        _wait_committed(kafka.bootstrap_servers, group, topic, 100)
    finally:
        _stop(child)
    assert _applied(engine, schema) == (100, 100)
