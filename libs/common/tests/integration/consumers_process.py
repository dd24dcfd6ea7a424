"""A consumer process run through `worker_runtime.run_consumers`, as every service runs one.

Usage: python consumers_process.py DATABASE_URL BOOTSTRAP SCHEMA PORT MODE INTERVAL TOPIC...
One member (group `<topic>.g`) per TOPIC; each applies events to SCHEMA.effects. MODE:
  ok                  housekeeping succeeds every INTERVAL seconds
  failing-housekeeping  the first housekeeping round raises
  crash               the dead-letter producer cannot be built: a poison event kills its member
  hang                an event with data {"hang": true} blocks its member (it ignores the stop)
Each housekeeping round prints `housekeeping round=N main_thread=B connected=B frozen=N`
(frozen: the objects the collector no longer scans, `gc.get_freeze_count()`).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from kafka import KafkaProducer
from sqlalchemy.engine import Connection

from newsroom_common.config import DatabaseUrl, ServiceSettings
from newsroom_common.consumer import ConsumerRunner
from newsroom_common.database_url import psycopg2_url
from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import create_producer
from newsroom_common.shared_tables import add_shared_tables
from newsroom_common.worker_runtime import run_consumers


def main() -> int:
    url, bootstrap, schema, port, mode, interval, *topics = sys.argv[1:]
    _, processed = add_shared_tables(sa.MetaData(schema=schema))
    engine = sa.create_engine(psycopg2_url(url))

    def handle(conn: Connection, events: Sequence[CloudEvent]) -> None:
        for event in events:
            if event.data.get("poison"):
                raise ValueError("this event can never be applied")
            if event.data.get("hang") and mode == "hang":
                sys.stdout.write("member hanging\n")
                sys.stdout.flush()
                time.sleep(3600)
            conn.execute(
                sa.text(
                    f"INSERT INTO {schema}.effects (event_id, applied) VALUES (:id, 1) "
                    "ON CONFLICT (event_id) DO UPDATE SET applied = effects.applied + 1"
                ),
                {"id": event.id},
            )

    def dead_letter_producer(group: str) -> Callable[[], KafkaProducer]:
        def build() -> KafkaProducer:
            if mode == "crash":
                raise RuntimeError("the dead-letter producer cannot be built")
            return create_producer(bootstrap, client_id=f"{group}-dlt")

        return build

    runners = [
        ConsumerRunner(
            engine=engine,
            processed_events=processed,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}.g",
            topics=[topic],
            handler=handle,
            dead_letter_topic=f"{topic}.dlt",
            producer_factory=dead_letter_producer(f"{topic}.g"),
            max_batch=50,
            lag_refresh_s=0.5,
        )
        for topic in topics
    ]
    rounds = 0

    def housekeeping() -> None:
        nonlocal rounds
        rounds += 1
        # One write, so no log line of a member's thread lands inside it.
        sys.stdout.write(
            f"housekeeping round={rounds} "
            f"main_thread={threading.current_thread() is threading.main_thread()} "
            f"connected={any(r.connected for r in runners)} "
            f"frozen={gc.get_freeze_count()}\n"
        )
        sys.stdout.flush()
        if mode == "failing-housekeeping" and rounds == 1:
            raise RuntimeError("the first housekeeping round fails")

    settings = ServiceSettings(
        database_url=DatabaseUrl(url),
        kafka_bootstrap_servers=bootstrap,
        worker_http_port=int(port),
    )
    return run_consumers(
        name="test-consume",
        settings=settings,
        runners=runners,
        housekeeping=housekeeping,
        housekeeping_interval_s=float(interval),
        stop_timeout_s=3.0,
    )


if __name__ == "__main__":
    sys.exit(main())
