"""Domain events and their CloudEvents 1.0 envelope (Kafka binding, binary mode).

Plain Python: the domain layer of every service imports this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


@dataclasses.dataclass(frozen=True)
class Event:
    """A domain event: past tense, immutable; the subclass names its topic and key."""

    TOPIC: ClassVar[str]

    def key(self) -> str:
        """The aggregate id: Kafka keeps order per key."""
        raise NotImplementedError

    def data(self) -> dict[str, Any]:
        """The event's JSON data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class CloudEvent:
    """One event as it travels on Kafka: attributes in `ce_*` headers, JSON data as value."""

    id: str
    source: str
    type: str
    time: dt.datetime
    data: dict[str, Any]
    subject: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def from_event(cls, event: Event, *, source: str, type_prefix: str) -> CloudEvent:
        """Wrap a domain event with a fresh, stable id."""
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=f"{type_prefix}.{type(event).__name__}",
            time=dt.datetime.now(dt.UTC),
            data=event.data(),
            subject=event.key(),
        )

    @property
    def name(self) -> str:
        """The event's short name, e.g. `UserRegistered`."""
        return self.type.rsplit(".", 1)[-1]

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers in the CloudEvents binary content mode."""
        headers = [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat(timespec="milliseconds").encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.subject:
            headers.append(("ce_subject", self.subject.encode()))
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        if self.tracestate:
            headers.append(("tracestate", self.tracestate.encode()))
        return headers

    def value(self) -> bytes:
        """The Kafka message value: the data as JSON."""
        return orjson.dumps(self.data)

    @classmethod
    def from_kafka(cls, headers: Sequence[tuple[str, bytes]], value: bytes | None) -> CloudEvent:
        """Decode a Kafka message; raises MalformedEvent when it is not a CloudEvent."""
        attrs: Mapping[str, str] = {
            k: v.decode("utf-8", "replace") for k, v in headers if v is not None
        }
        missing = [a for a in ("ce_id", "ce_source", "ce_type", "ce_specversion") if a not in attrs]
        if missing:
            raise MalformedEvent(f"missing CloudEvents headers: {', '.join(missing)}")
        if attrs["ce_specversion"] != SPEC_VERSION:
            raise MalformedEvent(f"unsupported specversion {attrs['ce_specversion']}")
        try:
            data = orjson.loads(value or b"null")
        except orjson.JSONDecodeError as exc:
            raise MalformedEvent(f"data is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedEvent("data is not a JSON object")
        try:
            time = (
                dt.datetime.fromisoformat(attrs.get("ce_time", "")) if "ce_time" in attrs else None
            )
        except ValueError:
            raise MalformedEvent("ce_time is not RFC 3339") from None
        return cls(
            id=attrs["ce_id"],
            source=attrs["ce_source"],
            type=attrs["ce_type"],
            time=time or dt.datetime.now(dt.UTC),
            data=data,
            subject=attrs.get("ce_subject"),
            traceparent=attrs.get("traceparent"),
            tracestate=attrs.get("tracestate"),
        )


class MalformedEvent(ValueError):
    """A message that can never be processed: it goes to the dead-letter topic."""
