"""A consumer group member run as its own process, so a test can SIGKILL it mid-batch.

Usage: python consumer_process.py DATABASE_URL BOOTSTRAP TOPIC SCHEMA GROUP
Its effect is deliberately not idempotent (a counter += 1 per event): only the
runner's dedup keeps it exact.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsroom_common.config import ServiceSettings, load_settings
from newsroom_common.consumer import ConsumerRunner
from newsroom_common.db import create_engine
from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import create_producer
from newsroom_common.shared_tables import add_shared_tables
from newsroom_common.worker import StopFlag


def main() -> None:
    url, bootstrap, topic, schema, group = sys.argv[1:6]
    metadata = sa.MetaData(schema=schema)
    _, processed = add_shared_tables(metadata)
    # The services' own engine (timeouts, pool checks), so outages here are met as in production.
    settings = load_settings(ServiceSettings, prefix="VIEWS_", environ={"VIEWS_DATABASE_URL": url})
    engine = create_engine(settings, application_name=f"{group}-test")

    def handle(conn: Connection, events: Sequence[CloudEvent]) -> None:
        for event in events:
            if event.data.get("poison"):
                raise ValueError("this event can never be applied")
            conn.execute(
                sa.text(
                    f"INSERT INTO {schema}.effects (event_id, applied) VALUES (:id, 1) "
                    "ON CONFLICT (event_id) DO UPDATE SET applied = effects.applied + 1"
                ),
                {"id": event.id},
            )
            # Slow enough that a SIGKILL lands inside an open transaction.
            time.sleep(0.01)

    runner = ConsumerRunner(
        engine=engine,
        processed_events=processed,
        bootstrap_servers=bootstrap,
        group_id=group,
        topics=[topic],
        handler=handle,
        dead_letter_topic=f"{topic}.dlt",
        producer_factory=lambda: create_producer(bootstrap, client_id=f"{group}-dlt"),
        max_batch=50,
    )
    print("consumer started", flush=True)
    runner.run(StopFlag().install())


if __name__ == "__main__":
    main()
