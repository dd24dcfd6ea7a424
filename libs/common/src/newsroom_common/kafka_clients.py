"""Kafka clients with the settings every Newsroom producer and consumer needs."""

from __future__ import annotations

import socket
from typing import Any

from kafka import KafkaProducer

from newsroom_common import kafka_join_fix

# Every group consumer of the platform is built next to this module's helpers: patch
# kafka-python's coordinator before any of them joins a group (see kafka_join_fix).
kafka_join_fix.apply()


def bootstrap_list(servers: str) -> list[str]:
    """`host:port,host:port` as a list."""
    return [s.strip() for s in servers.split(",") if s.strip()]


def create_producer(bootstrap_servers: str, *, client_id: str, **overrides: Any) -> KafkaProducer:
    """An idempotent, ordered producer that gives up quickly when the broker is away.

    Construct it after the fork: it owns sockets and a background thread. Fails
    fast, before any socket is opened, when no bootstrap server accepts a TCP
    connection (kafka-python would otherwise leave its half-built client's
    sockets to the garbage collector on every retry during an outage).
    """
    if not broker_reachable(bootstrap_servers):
        raise KafkaUnavailable(f"no Kafka broker answers at {bootstrap_servers}")
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_list(bootstrap_servers),
        "client_id": client_id,
        "acks": "all",
        # Idempotence keeps per-partition order even with retries and several in flight.
        "enable_idempotence": True,
        "linger_ms": 2,
        "compression_type": None,
        "max_block_ms": 5000,
        "request_timeout_ms": 5000,
        "delivery_timeout_ms": 10000,
        "retry_backoff_ms": 100,
        "reconnect_backoff_max_ms": 1000,
    }
    config.update(overrides)
    return KafkaProducer(**config)


class KafkaUnavailable(ConnectionError):
    """No bootstrap server accepts connections."""


def broker_reachable(bootstrap_servers: str, *, timeout: float = 0.5) -> bool:
    """True when a TCP connection to one bootstrap server opens (cheap readiness check)."""
    for server in bootstrap_list(bootstrap_servers):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False
