"""Views ingestion throughput next to a bare kafka-python consumer (`make bench-views`, and
`make bench`'s ingestion row). Test code, kept out of the views service's package.

Both read the same freshly produced topic (12 partitions, like `articles.views.v1`)
on the same broker in the same run, each as a fresh consumer group, so group join and
fetching cost both alike; they take turns for several rounds and the median ratio is
reported, so a machine busy with something else skews neither side alone.
Ingestion runs the real path: CloudEvent decoding, dedup in `processed_events`,
bucket upserts, one transaction and one offset commit per batch. Its tables live in
a throw-away schema; the topics are deleted afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
import time
import uuid

import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from newsroom_common.events import CloudEvent
from newsroom_common.kafka_clients import bootstrap_list
from newsroom_common.worker_runtime import freeze_startup_heap
from newsroom_views.adapters.tables import metadata
from newsroom_views.bootstrap import bootstrap
from newsroom_views.config import ViewsSettings
from newsroom_views.entrypoints import consumers

PARTITIONS = 12
TIMEOUT_S = 600.0
# Issue 20's goal for the median ratio (issue 8's was 0.50); `make bench` judges it too.
GOAL_RATIO = 0.60


@dataclasses.dataclass(frozen=True)
class Timing:
    """Records handled after the first batch, and the seconds they took.

    The clock starts when the first batch is in hand, so joining the group (seconds
    on a fresh broker) does not count against either consumer.
    """

    records: int
    seconds: float

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds


@dataclasses.dataclass(frozen=True)
class Round:
    """One bare read and one ingestion of the whole topic, back to back."""

    raw: Timing
    ingest: Timing

    @property
    def ratio(self) -> float:
        """Ingestion rate over the bare consumer's."""
        return self.ingest.rate / self.raw.rate


@dataclasses.dataclass(frozen=True)
class BenchResult:
    """Every round's timings on the same topic."""

    events: int
    rounds: list[Round]

    @property
    def median_ratio(self) -> float:
        """The median of the rounds' ratios (rounds alternate, so load drift hits both)."""
        return statistics.median(r.ratio for r in self.rounds)

    def summary(self) -> str:
        """The figures, one line per round, then the median ratio."""
        lines = [f"events produced: {self.events} (12 partitions)"]
        for n, r in enumerate(self.rounds, 1):
            lines.append(
                f"round {n}: bare kafka-python {r.raw.rate:,.0f} records/s "
                f"({r.raw.records} in {r.raw.seconds:.2f} s), views ingestion "
                f"{r.ingest.rate:,.0f} events/s ({r.ingest.records} in {r.ingest.seconds:.2f} s), "
                f"ratio {r.ratio:.2f}"
            )
        lines.append(f"median ratio: {self.median_ratio:.2f} (goal: at least {GOAL_RATIO:.2f})")
        return "\n".join(lines)


def _produce(
    bootstrap_servers: str, topic: str, *, events: int, articles: int, spread_s: int
) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap_list(bootstrap_servers),
        linger_ms=20,
        batch_size=512 * 1024,
        acks=1,
    )
    ids = [str(uuid.uuid4()) for _ in range(articles)]
    now = dt.datetime.now(dt.UTC)
    for i in range(events):
        article_id = ids[i % articles]
        # Read times spread evenly over the last `spread_s` seconds, oldest first, as live
        # traffic arrives; each batch then touches a few minutes of each article.
        viewed_at = now - dt.timedelta(seconds=spread_s * (events - i) / events)
        event = CloudEvent(
            id=str(uuid.uuid4()),
            source="/newsroom/articles",
            type="dev.newsroom.articles.ArticleViewed",
            time=viewed_at,
            data={
                "article_id": article_id,
                "slug": f"bench-{article_id[:8]}",
                "viewer_id": None,
                "viewed_at": viewed_at.isoformat(),
            },
            subject=article_id,
        )
        producer.send(topic, key=article_id.encode(), value=event.value(), headers=event.headers())
    producer.flush()
    producer.close()


def _bare(bootstrap_servers: str, topic: str, *, events: int) -> Timing:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_list(bootstrap_servers),
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 << 20,
    )
    seen, first, clock = 0, 0, 0.0
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while seen < events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bare consumer read {seen} of {events}")
            for batch in consumer.poll(timeout_ms=500, max_records=2000).values():
                seen += len(batch)
            if seen and not first:
                first, clock = seen, time.perf_counter()
        return Timing(records=seen - first, seconds=time.perf_counter() - clock)
    finally:
        consumer.close(autocommit=False)


def _ingest(settings: ViewsSettings, *, events: int) -> Timing:
    services = bootstrap(settings, process="bench")
    (runner, *_) = consumers.runners(services)
    first, clock = 0, 0.0
    deadline = time.monotonic() + TIMEOUT_S
    try:
        runner.start()
        while runner.stats.processed < events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ingestion counted {runner.stats.processed} of {events}")
            runner.poll_once(timeout_ms=500)
            if runner.stats.processed and not first:
                first, clock = runner.stats.processed, time.perf_counter()
        return Timing(records=runner.stats.processed - first, seconds=time.perf_counter() - clock)
    finally:
        runner.close()
        services.engine.dispose()


def run(
    settings: ViewsSettings, *, events: int, articles: int, spread_s: int = 600, rounds: int = 3
) -> BenchResult:
    """Produce `events` views to a fresh topic and time both consumers on it, in turns."""
    tag = uuid.uuid4().hex[:10]
    topic, dlt, schema = f"bench.views.{tag}", f"bench.dlt.{tag}", f"bench_{tag}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_list(settings.kafka_bootstrap_servers))
    admin.create_topics([NewTopic(topic, PARTITIONS, 1), NewTopic(dlt, 1, 1)])
    engine = sa.create_engine(settings.database_url.get())
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        metadata.create_all(engine.execution_options(schema_translate_map={None: schema}))
        _produce(
            settings.kafka_bootstrap_servers,
            topic,
            events=events,
            articles=articles,
            spread_s=spread_s,
        )
        # Both sides as a consumer process runs them (`run_consumers` freezes its startup
        # heap): neither then pays for the bench's own imports at each full collection.
        freeze_startup_heap()
        measured = []
        for n in range(rounds):
            raw = _bare(settings.kafka_bootstrap_servers, topic, events=events)
            # A fresh group each round: its dedup ids are its own, so every round does the
            # same work on the same records.
            bench_settings = dataclasses.replace(
                settings,
                db_schema=schema,
                views_topic=topic,
                dead_letter_topic=dlt,
                ingest_group=f"bench-ingest-{tag}-{n}",
            )
            measured.append(Round(raw=raw, ingest=_ingest(bench_settings, events=events)))
        return BenchResult(events=events, rounds=measured)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        admin.delete_topics([topic, dlt])
        admin.close()
