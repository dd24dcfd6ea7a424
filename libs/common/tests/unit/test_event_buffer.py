"""The in-memory event buffer never blocks, drops (and counts) when full, and retries in order."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from newsroom_common.event_buffer import BufferedEventPublisher
from newsroom_common.events import CloudEvent, Event


@dataclasses.dataclass(frozen=True)
class Viewed(Event):
    TOPIC: ClassVar[str] = "things.views.v1"
    thing_id: str

    def key(self) -> str:
        return self.thing_id


class FakeFuture:
    def __init__(self, ok: bool) -> None:
        self.is_done = True
        self._ok = ok
        self.exception = None if ok else RuntimeError("broker away")

    def succeeded(self) -> bool:
        return self._ok


class FakeProducer:
    """Records sends; fails while `down` is set."""

    def __init__(self, broker: FakeBroker) -> None:
        self._broker = broker
        self.closed = False

    def send(self, topic: str, *, key: bytes, value: bytes, headers: Any) -> FakeFuture:
        self._broker.gate.wait(timeout=5)
        ok = not self._broker.down
        if ok:
            self._broker.received.append((topic, key, value, list(headers)))
        return FakeFuture(ok)

    def flush(self, timeout: float) -> None:
        return None

    def close(self, timeout: float) -> None:
        self.closed = True


class FakeBroker:
    def __init__(self) -> None:
        self.down = False
        self.received: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
        self.producers: list[FakeProducer] = []
        self.gate = threading.Event()
        self.gate.set()

    def factory(self) -> FakeProducer:
        producer = FakeProducer(self)
        self.producers.append(producer)
        return producer


def _wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    pytest.fail("condition not met in time")


def _buffer(broker: FakeBroker, **options: Any) -> BufferedEventPublisher:
    return BufferedEventPublisher(
        producer_factory=broker.factory,
        source="/newsroom/things",
        type_prefix="dev.newsroom.things",
        max_backoff=0.05,
        **options,
    )


def test_nothing_starts_before_the_first_event() -> None:
    broker = FakeBroker()
    _buffer(broker)
    assert broker.producers == []
    assert not any(t.name == "event-buffer" for t in threading.enumerate())


def test_events_reach_kafka_as_cloudevents_keyed_by_aggregate() -> None:
    broker = FakeBroker()
    buffer = _buffer(broker)
    assert buffer.publish(Viewed(thing_id="t1"))
    _wait_for(lambda: len(broker.received) == 1)
    topic, key, value, headers = broker.received[0]
    event = CloudEvent.from_kafka(headers, value)
    assert (topic, key) == ("things.views.v1", b"t1")
    assert event.type == "dev.newsroom.things.Viewed"
    assert event.data == {"thing_id": "t1"}
    buffer.close()


def test_a_full_buffer_drops_and_counts_without_blocking() -> None:
    broker = FakeBroker()
    broker.gate.clear()  # the sender is stuck on its first event
    buffer = _buffer(broker, capacity=3, batch_size=1)
    accepted = [buffer.publish(Viewed(thing_id=str(i))) for i in range(10)]
    # One event may already be in the stuck sender's hands; the buffer holds three more.
    assert accepted.count(True) in {3, 4}
    assert buffer.stats.dropped == accepted.count(False)
    broker.gate.set()
    _wait_for(lambda: buffer.pending() == 0)
    assert len(broker.received) == accepted.count(True)
    buffer.close()


def test_events_wait_while_kafka_is_down_and_arrive_in_order_when_it_returns() -> None:
    broker = FakeBroker()
    broker.down = True
    buffer = _buffer(broker)
    for i in range(5):
        assert buffer.publish(Viewed(thing_id=str(i)))
    _wait_for(lambda: buffer.stats.failed_attempts >= 2)
    assert broker.received == []
    assert buffer.pending() == 5
    broker.down = False
    _wait_for(lambda: buffer.pending() == 0)
    assert [key for _, key, _, _ in broker.received] == [str(i).encode() for i in range(5)]
    # A producer that failed is replaced, never reused.
    assert len(broker.producers) >= 2
    assert all(p.closed for p in broker.producers[:-1])
    buffer.close()


def test_a_producer_that_cannot_be_built_is_retried() -> None:
    broker = FakeBroker()
    attempts: list[int] = []

    def flaky() -> FakeProducer:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("no brokers available")
        return broker.factory()

    buffer = BufferedEventPublisher(
        producer_factory=flaky,
        source="/s",
        type_prefix="p",
        max_backoff=0.05,
    )
    buffer.publish(Viewed(thing_id="x"))
    _wait_for(lambda: len(broker.received) == 1)
    assert buffer.stats.last_error is not None
    buffer.close()


def test_a_forked_child_starts_its_own_empty_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    broker = FakeBroker()
    broker.gate.clear()
    buffer = _buffer(broker)
    buffer.publish(Viewed(thing_id="parent"))
    buffer.publish(Viewed(thing_id="parent-2"))
    parent_sender = buffer._sender
    import os

    real_pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real_pid + 1)
    buffer.publish(Viewed(thing_id="child"))
    assert buffer._sender is not parent_sender
    assert buffer.stats.accepted == 1
    broker.gate.set()
    _wait_for(lambda: any(key == b"child" for _, key, _, _ in broker.received))
    buffer.close()
    assert parent_sender is not None
    parent_sender.stop(1.0)
