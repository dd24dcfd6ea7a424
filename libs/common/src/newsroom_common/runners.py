"""The main loops of worker processes (outbox relay, consumers), shared by every service.

Each runs until SIGTERM, serves its probes and metrics on the worker HTTP port,
and logs as JSON under the process's own name.
"""

from __future__ import annotations

import logging

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


def run_consumer(*, name: str, settings: ServiceSettings, runner: ConsumerRunner) -> None:
    """Run `runner` until SIGTERM, with its probes; `name` labels logs and traces."""
    configure_logging(service=name, level=settings.log_level)
    # The runner's engine was built already: its SQL is instrumented once tracing starts.
    telemetry.init_worker_tracing(name)
    stop = StopFlag().install()
    serve_probes(
        settings.worker_http_port,
        live=lambda: True,
        ready=lambda: (
            bool(runner.stats.assigned) or broker_reachable(settings.kafka_bootstrap_servers),
            {
                "processed": runner.stats.processed,
                "dead_lettered": runner.stats.dead_lettered,
                "lag": runner.stats.lag,
            },
        ),
        metrics=metrics.render,
    )
    log.info("consumer started", extra={"topics": runner.topics})
    runner.run(stop)
    log.info("consumer stopped")
