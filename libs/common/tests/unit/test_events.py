"""The CloudEvents envelope round-trips through Kafka headers; junk is rejected."""

from __future__ import annotations

import dataclasses

import pytest

from newsroom_common.events import CloudEvent, Event, MalformedEvent


@dataclasses.dataclass(frozen=True)
class ThingHappened(Event):
    TOPIC = "things.events.v1"
    id: str
    name: str

    def key(self) -> str:
        return self.id


def test_round_trip_keeps_every_attribute() -> None:
    envelope = CloudEvent.from_event(
        ThingHappened(id="t1", name="x"), source="/things", type_prefix="dev.newsroom.things"
    )
    envelope = dataclasses.replace(envelope, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    decoded = CloudEvent.from_kafka(envelope.headers(), envelope.value())
    assert decoded.id == envelope.id
    assert decoded.type == "dev.newsroom.things.ThingHappened"
    assert decoded.name == "ThingHappened"
    assert decoded.subject == "t1"
    assert decoded.data == {"id": "t1", "name": "x"}
    assert decoded.traceparent == envelope.traceparent
    headers = dict(envelope.headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/json"


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        ([], b"{}"),
        ([("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t")], b"{}"),
        (
            [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_specversion", b"0.3")],
            b"{}",
        ),
        (
            [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_specversion", b"1.0")],
            b"not json",
        ),
        (
            [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_type", b"t"), ("ce_specversion", b"1.0")],
            b"[1, 2]",
        ),
        (
            [
                ("ce_id", b"1"),
                ("ce_source", b"/x"),
                ("ce_type", b"t"),
                ("ce_specversion", b"1.0"),
                ("ce_time", b"yesterday"),
            ],
            b"{}",
        ),
    ],
)
def test_malformed_messages_are_rejected(headers: list[tuple[str, bytes]], value: bytes) -> None:
    with pytest.raises(MalformedEvent):
        CloudEvent.from_kafka(headers, value)
