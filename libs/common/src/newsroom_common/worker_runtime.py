"""The main loops of worker processes (outbox relay, consumers), shared by every service.

Each runs until SIGTERM, serves its probes and metrics on the worker HTTP port,
and logs as JSON under the process's own name. These are the only worker runtimes:
a service's CLI builds its relay or its consumer runners and hands them here.
"""

from __future__ import annotations

import gc
import logging
import os
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
    freeze_startup_heap()
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


def freeze_startup_heap() -> None:
    """Collect once, then keep what survives (modules, engines, settings) out of later scans.

    A worker allocates a few short-lived objects per record; each of the collector's full
    scans then walked every object the imports left (SQLAlchemy, kafka-python, ...): in
    `make bench-views`, 0.65-0.71 s of a 3.4-3.6 s round of 50,000 views, 0.02-0.04 s once
    frozen. What is frozen is never freed; at startup all of it lives as long as the process.
    """
    gc.collect()
    gc.freeze()


# Everything after SIGTERM (members leaving their groups, the probes closing) must fit in the
# pod's grace period, 30 s unless a chart says otherwise, with room for the interpreter's exit.
STOP_TIMEOUT_S = 20.0


def run_consumers(
    *,
    name: str,
    settings: ServiceSettings,
    runners: Sequence[ConsumerRunner],
    housekeeping: Callable[[], None] | None = None,
    housekeeping_interval_s: float = 600.0,
    stop_timeout_s: float = STOP_TIMEOUT_S,
) -> int:
    """Run each runner as a group member on its own thread until SIGTERM; return the exit status.

    Every consumer process of the platform goes through here: one member per consumer group,
    probes on the worker port (`/healthz`: the threads run; `/readyz`: every member polls and
    has its broker, with per-group detail), the platform's consumer metrics on `/metrics`, and
    `housekeeping` (pruning, say) run every `housekeeping_interval_s` on the main thread.
    A member that crashes stops the others, and the process exits 1; so does a member that
    has not stopped `stop_timeout_s` after the others were asked to.
    """
    configure_logging(service=name, level=settings.log_level)
    # The runners' engines were built already: their SQL is instrumented once tracing starts.
    telemetry.init_worker_tracing(name)
    stop = StopFlag().install()
    freeze_startup_heap()
    members = [ConsumerMember(runner) for runner in runners]

    def ready() -> tuple[bool, dict[str, object]]:
        ok = all(m.alive() and m.runner.connected for m in members)
        return ok, {"groups": {m.runner.group_id: m.detail() for m in members}}

    server = None
    try:
        server = serve_probes(
            settings.worker_http_port,
            # Liveness is only "the threads run": a member stuck retrying a database that is
            # down would not be cured by a restart, so it only turns unready.
            live=lambda: all(m.running() for m in members),
            ready=ready,
            metrics=metrics.render,
        )
        for member in members:
            # Daemon threads: one that ignores the stop must not hold the process past its
            # grace period (the joins below wait for the others, and say which one hung).
            member.thread = threading.Thread(
                target=member.run, args=(stop,), name=member.runner.group_id, daemon=True
            )
            member.thread.start()
        log.info(
            "consumers started",
            extra={"groups": [m.runner.group_id for m in members], "topics": _topics(runners)},
        )
        _housekeep_until_stopped(stop, members, housekeeping, housekeeping_interval_s)
    finally:
        # However the main thread leaves (SIGTERM, a crashed member, an error of its own), no
        # member keeps consuming behind a process that is no longer watched.
        stop.set()
        stuck = _join(members, deadline=time.monotonic() + stop_timeout_s)
        if server is not None:
            server.shutdown()
    failed = [m.runner.group_id for m in members if m.error]
    if stuck:
        log.error("consumers did not stop in time", extra={"stuck": stuck, "failed": failed})
        # A thread blocked inside a call cannot be stopped from Python, and the interpreter's
        # exit would run the Kafka clients' atexit closes beside it: leave at once. Offsets
        # are committed only after each batch's transaction, so its batch is replayed.
        logging.shutdown()
        os._exit(1)
    log.info("consumers stopped", extra={"failed": failed})
    return 1 if failed else 0


def _housekeep_until_stopped(
    stop: StopFlag,
    members: Sequence[ConsumerMember],
    housekeeping: Callable[[], None] | None,
    interval_s: float,
) -> None:
    """Run `housekeeping` every `interval_s` until `stop`; a failing round waits for the next.

    The first round waits until a member has reached its broker, or one interval: what a
    round reads from Kafka (a topic's retention, say) is not there before.
    A failing round is logged, not fatal: housekeeping is not the process's job, and exiting
    would restart every member, rebalancing their groups, for a cleanup that can wait.
    """
    first_by = time.monotonic() + interval_s
    next_round: float | None = None
    while not stop.wait(1.0):
        if housekeeping is None:
            continue
        now = time.monotonic()
        due = (
            now >= next_round
            if next_round is not None
            else (now >= first_by or any(m.runner.connected for m in members))
        )
        if not due:
            continue
        try:
            housekeeping()
        except Exception:
            log.exception("housekeeping failed; it runs again in %.0f s", interval_s)
        next_round = time.monotonic() + interval_s


def _join(members: Sequence[ConsumerMember], *, deadline: float) -> list[str]:
    """Wait, together at most until `deadline`, for every member to stop; return those still up."""
    for member in members:
        if member.thread is not None:
            # Each loop notices the stop within one poll (0.5 s) or one backoff step.
            member.thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return [m.runner.group_id for m in members if m.running()]


def _topics(runners: Sequence[ConsumerRunner]) -> list[str]:
    return sorted({topic for runner in runners for topic in runner.topics})
