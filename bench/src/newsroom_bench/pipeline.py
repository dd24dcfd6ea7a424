"""The asynchronous paths: views ingestion, read-to-count latency, outbox write-to-Kafka.

Latencies are measured at the client, against the wall clock of this machine: a read
or a write is timed from just before its request is sent until the client sees its
effect (a count through the views API, an event on the topic). They are upper bounds
of the pipelines' own latencies, by the client's own overheads.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import orjson
import requests
from kafka import KafkaConsumer, TopicPartition

from newsroom_bench.seed import BODY, Client, Dataset

ARTICLES_EVENTS = "articles.events.v1"
PUBLISHED = "dev.newsroom.articles.ArticlePublished"


@dataclasses.dataclass(frozen=True)
class Latencies:
    """Samples of one latency, in seconds, and how many never completed."""

    samples: list[float]
    lost: int = 0

    def percentile(self, p: float) -> float:
        """The p-th percentile (nearest rank), in seconds; NaN without samples."""
        return percentile(self.samples, p)

    def to_json(self) -> dict[str, object]:
        """Counts and percentiles, for results.json."""
        return {
            "count": len(self.samples),
            "lost": self.lost,
            "p50_s": self.percentile(50),
            "p99_s": self.percentile(99),
            "max_s": max(self.samples) if self.samples else float("nan"),
            "mean_s": statistics.fmean(self.samples) if self.samples else float("nan"),
        }


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least p% of samples at or below."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


@dataclasses.dataclass(frozen=True)
class Ingestion:
    """`views_ingestion`: ingestion next to a bare kafka-python consumer, in rounds."""

    events: int
    rounds: int
    # Medians over the rounds; the ratio is the median of each round's own ratio.
    bare_rate: float
    ingest_rate: float
    ratio: float


def views_ingestion(*, database_url: str, bootstrap_servers: str, events: int) -> Ingestion:
    """Run the ingestion benchmark on the stack's broker and views database."""
    from newsroom_bench.views_ingestion import run
    from newsroom_common.config import load_settings
    from newsroom_views.config import PREFIX, ViewsSettings

    settings = load_settings(
        ViewsSettings,
        prefix=PREFIX,
        environ={
            f"{PREFIX}DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        },
    )
    result = run(settings, events=events, articles=1000)
    return Ingestion(
        events=events,
        rounds=len(result.rounds),
        bare_rate=statistics.median(r.raw.rate for r in result.rounds),
        ingest_rate=statistics.median(r.ingest.rate for r in result.rounds),
        ratio=result.median_ratio,
    )


def read_to_count(
    client: Client,
    views_url: str,
    probes: Sequence[str],
    *,
    seconds: float,
    per_second: float = 10.0,
    token: str | None = None,
    give_up_s: float = 15.0,
) -> Latencies:
    """Read articles nobody else reads, and time each until its count shows the read.

    Runs while the main load keeps the read path busy. Each probe is read once at a
    known time; a poller sweeps the probes still pending through the views API (on the
    views instance directly, so the polls do not queue behind the load at the gateway).
    """
    pending: dict[str, float] = {}
    done: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    poll = requests.Session()

    def poller() -> None:
        while not stop.is_set() or pending:
            with lock:
                batch = list(pending.items())
            now = time.monotonic()
            for slug, read_at in batch:
                if now - read_at > give_up_s:
                    with lock:
                        pending.pop(slug, None)
                    continue
                response = poll.get(f"{views_url}/api/articles/{slug}/views", timeout=10)
                if response.status_code == 200 and response.json()["views"]["total"] >= 1:
                    seen = time.monotonic()
                    with lock:
                        pending.pop(slug, None)
                        done.append(seen - read_at)
            if not batch:
                time.sleep(0.01)

    def read(slug: str) -> None:
        read_at = time.monotonic()
        client.call("GET", f"/api/articles/{slug}", token=token)
        with lock:
            pending[slug] = read_at

    thread = threading.Thread(target=poller, name="read-to-count-poller", daemon=True)
    thread.start()
    interval = 1.0 / per_second
    sent = 0
    next_at = time.monotonic()
    end = next_at + seconds
    # Reads go out on the clock from a pool: a slow answer must not delay the next probe.
    with ThreadPoolExecutor(max_workers=16) as pool:
        for slug in probes:
            if time.monotonic() >= end:
                break
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            pool.submit(read, slug)
            sent += 1
    stop.set()
    thread.join(timeout=give_up_s + 30)
    return Latencies(samples=done, lost=sent - len(done))


def outbox_latency(
    client: Client,
    bootstrap_servers: str,
    dataset: Dataset,
    *,
    writes: int = 200,
    per_second: float = 20.0,
    log: Callable[[str], None],
) -> Latencies:
    """Publish articles at a steady pace; time each until its event is read from Kafka."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers.split(","),
        group_id=None,
        enable_auto_commit=False,
        # A fetch returns as soon as anything arrived: the client adds ~no wait of its own.
        fetch_max_wait_ms=10,
    )
    partitions = consumer.partitions_for_topic(ARTICLES_EVENTS) or set()
    consumer.assign([TopicPartition(ARTICLES_EVENTS, p) for p in sorted(partitions)])
    consumer.seek_to_end()
    consumer.poll(timeout_ms=100)

    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                now = time.monotonic()
                for record in records:
                    headers = dict(record.headers or [])
                    if headers.get("ce_type", b"").decode() != PUBLISHED:
                        continue
                    slug = orjson.loads(record.value).get("slug")
                    if isinstance(slug, str):
                        seen_at.setdefault(slug, now)

    thread = threading.Thread(target=consume, name="outbox-consumer", daemon=True)
    thread.start()
    token = dataset.author_tokens[0]
    next_at = time.monotonic()
    for i in range(writes):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1.0 / per_second
        started = time.monotonic()
        article = {
            "title": f"Outbox {dataset.run_tag} {i}",
            "description": "timed from write to Kafka",
            "body": BODY,
            "tagList": ["outbox"],
        }
        body = client.call("POST", "/api/articles", token=token, json={"article": article})
        sent_at[body["article"]["slug"]] = started
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not sent_at.keys() <= seen_at.keys():
        time.sleep(0.1)
    stop.set()
    thread.join(timeout=5)
    consumer.close()
    samples = [seen_at[s] - t for s, t in sent_at.items() if s in seen_at]
    if len(samples) < len(sent_at):
        log(f"outbox: {len(sent_at) - len(samples)} events not seen within 15 s")
    return Latencies(samples=samples, lost=len(sent_at) - len(samples))
