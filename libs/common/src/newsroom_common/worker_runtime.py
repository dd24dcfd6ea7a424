"""The main loops of worker processes (outbox relay, consumers), shared by every service.

Each runs until SIGTERM, serves its probes and metrics on the worker HTTP port,
and logs as JSON under the process's own name. These are the only worker runtimes:
a service's CLI builds its relay or its consumer runners and hands them here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from newsroom_common import metrics, telemetry
from newsroom_common.config import ServiceSettings
from newsroom_common.consumer import ConsumerRunner
from newsroom_common.db import create_engine
from newsroom_common.kafka_clients import broker_reachable, create_producer
from newsroom_common.logs import configure_logging
from newsroom_common.outbox import OutboxRelay
from newsroom_common.worker import StopFlag, serve_probes

log = logging.getLogger(__name__)


def run_outbox_relay(*, service: str, settings: ServiceSettings, outbox: sa.Table) -> None:
    """Publish `outbox` rows of `service` to Kafka until SIGTERM."""
    name = f"{service}-relay"
    configure_logging(service=name, level=settings.log_level)
    telemetry.init_worker_tracing(name)
    stop = StopFlag().install()
    relay = OutboxRelay(
        engine=create_engine(settings, application_name=name),
        outbox=outbox,
        producer_factory=lambda: create_producer(settings.kafka_bootstrap_servers, client_id=name),
    )
    serve_probes(
        settings.worker_http_port,
        live=lambda: True,
        ready=lambda: (
            broker_reachable(settings.kafka_bootstrap_servers),
            {"published": relay.stats.published, "last_error": relay.stats.last_error},
        ),
        metrics=metrics.render,
    )
    log.info("outbox relay started")
    try:
        relay.run(stop)
    finally:
        relay.close()
        log.info("outbox relay stopped")


# A member that has not polled (or tried to reach its broker) for this long is stuck: a poll
# returns within half a second, and a database retry waits at most five.
STALLED_AFTER_S = 120.0


@dataclass
class ConsumerMember:
    """One consumer group member on its own thread, and how it ended."""

    runner: ConsumerRunner
    thread: threading.Thread | None = None
    error: str | None = None

    def run(self, stop: StopFlag) -> None:
        """Run the member's loop; a crash stops the whole process, so it is restarted whole."""
        try:
            self.runner.run(stop)
        except Exception as exc:
            log.exception("consumer stopped on an error", extra={"group": self.runner.group_id})
            self.error = f"{type(exc).__name__}: {exc}"
            stop.set()

    def running(self) -> bool:
        """True while the member's thread runs."""
        return self.thread is not None and self.thread.is_alive()

    def alive(self) -> bool:
        """True while the thread runs and keeps polling."""
        return self.running() and time.monotonic() - self.runner.stats.last_poll < STALLED_AFTER_S

    def detail(self) -> dict[str, object]:
        """What `/readyz` says about this member."""
        stats = self.runner.stats
        return {
            "alive": self.alive(),
            "connected": self.runner.connected,
            "error": self.error,
            "processed": stats.processed,
            "duplicates": stats.duplicates,
            "dead_lettered": stats.dead_lettered,
            "lag": dict(stats.lag),
        }


def run_consumers(
    *,
    name: str,
    settings: ServiceSettings,
    runners: Sequence[ConsumerRunner],
    housekeeping: Callable[[], None] | None = None,
    housekeeping_interval_s: float = 600.0,
) -> int:
    """Run each runner as a group member on its own thread until SIGTERM; return the exit status.

    Every consumer process of the platform goes through here: one member per consumer group,
    probes on the worker port (`/healthz`: the threads run; `/readyz`: every member polls and
    has its broker, with per-group detail), the platform's consumer metrics on `/metrics`, and
    `housekeeping` (pruning, say) run every `housekeeping_interval_s` on the main thread.
    A member that crashes stops the others, and the process exits 1.
    """
    configure_logging(service=name, level=settings.log_level)
    # The runners' engines were built already: their SQL is instrumented once tracing starts.
    telemetry.init_worker_tracing(name)
    stop = StopFlag().install()
    members = [ConsumerMember(runner) for runner in runners]

    def ready() -> tuple[bool, dict[str, object]]:
        ok = all(m.alive() and m.runner.connected for m in members)
        return ok, {"groups": {m.runner.group_id: m.detail() for m in members}}

    server = serve_probes(
        settings.worker_http_port,
        # Liveness is only "the threads run": a member stuck retrying a database that is down
        # would not be cured by a restart, so it only turns unready.
        live=lambda: all(m.running() for m in members),
        ready=ready,
        metrics=metrics.render,
    )
    for member in members:
        member.thread = threading.Thread(
            target=member.run, args=(stop,), name=member.runner.group_id
        )
        member.thread.start()
    log.info(
        "consumers started",
        extra={"groups": [m.runner.group_id for m in members], "topics": _topics(runners)},
    )
    next_housekeeping = time.monotonic()
    while not stop.wait(1.0):
        if housekeeping is not None and time.monotonic() >= next_housekeeping:
            housekeeping()
            next_housekeeping = time.monotonic() + housekeeping_interval_s
    for member in members:
        assert member.thread is not None
        # Each loop notices the stop within one poll (0.5 s) or one backoff step.
        member.thread.join(timeout=30)
    if server is not None:
        server.shutdown()
    failed = [m.runner.group_id for m in members if m.error]
    log.info("consumers stopped", extra={"failed": failed})
    return 1 if failed else 0


def _topics(runners: Sequence[ConsumerRunner]) -> list[str]:
    return sorted({topic for runner in runners for topic in runner.topics})
