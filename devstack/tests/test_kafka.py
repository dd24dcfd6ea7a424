"""The devstack's Kafka broker: produce and consume, idempotent topics, stop and start again."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer

from newsroom_devstack.kafka import KafkaBroker, admin_client, broker_answers


@pytest.fixture
def broker(kafka: object) -> KafkaBroker:
    if not isinstance(kafka, KafkaBroker):
        pytest.skip("the broker is external (KAFKA_BOOTSTRAP_SERVERS is set)")
    return kafka


def new_topic() -> str:
    return f"devstack.test-{uuid.uuid4().hex[:8]}.v1"


def produce(bootstrap_servers: str, topic: str, messages: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    try:
        for number, value in enumerate(messages):
            producer.send(topic, key=str(number % 3).encode(), value=value)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def consume(bootstrap_servers: str, topic: str, count: int) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"devstack-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
    )
    try:
        received: list[bytes] = []
        for record in consumer:
            received.append(record.value)
            if len(received) == count:
                break
        return received
    finally:
        consumer.close()


def partitions(bootstrap_servers: str, topic: str) -> int:
    with admin_client(bootstrap_servers) as client:
        (described,) = client.describe_topics([topic])
        return len(described["partitions"])


def test_the_broker_accepts_produce_and_consume(broker: KafkaBroker) -> None:
    topic = new_topic()
    broker.create_topics({topic: 3})
    messages = [f"message {n}".encode() for n in range(12)]

    produce(broker.bootstrap_servers, topic, messages)

    assert sorted(consume(broker.bootstrap_servers, topic, len(messages))) == sorted(messages)


def test_create_topics_is_idempotent_and_grows_partitions(broker: KafkaBroker) -> None:
    topic = new_topic()

    broker.create_topics({topic: 2})
    broker.create_topics({topic: 2})
    assert partitions(broker.bootstrap_servers, topic) == 2

    broker.create_topics({topic: 4})
    assert partitions(broker.bootstrap_servers, topic) == 4
    # Kafka cannot shrink a topic: asking for fewer leaves it as it is.
    broker.create_topics({topic: 1})
    assert partitions(broker.bootstrap_servers, topic) == 4


def test_topics_are_not_created_by_accident(broker: KafkaBroker) -> None:
    topic = new_topic()
    with admin_client(broker.bootstrap_servers) as client:
        client.describe_topics([topic])  # would auto-create it if that were enabled
        assert topic not in client.list_topics()


def test_the_broker_restarts_on_the_same_port_with_its_data(broker: KafkaBroker) -> None:
    topic = new_topic()
    broker.create_topics({topic: 1})
    produce(broker.bootstrap_servers, topic, [b"before the restart"])
    port, pid = broker.port, broker.process.pid

    broker.stop()
    assert not broker_answers(broker.bootstrap_servers, timeout=1)
    broker.start()

    assert (broker.port, broker.bootstrap_servers) == (port, f"127.0.0.1:{port}")
    assert broker.process.pid != pid
    produce(broker.bootstrap_servers, topic, [b"after the restart"])
    received = consume(broker.bootstrap_servers, topic, 2)
    assert received == [b"before the restart", b"after the restart"]


def test_a_paused_broker_answers_nothing_until_resumed(broker: KafkaBroker) -> None:
    broker.pause()
    try:
        assert not broker_answers(broker.bootstrap_servers, timeout=1)
    finally:
        broker.resume()
    assert broker_answers(broker.bootstrap_servers, timeout=10)
