"""Every successful write yields exactly one CloudEvent on users.events.v1, also across a
broker outage."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kafka import KafkaConsumer

from newsroom_common.events import CloudEvent
from newsroom_devstack.testing import eventually

pytestmark = pytest.mark.e2e

TOPIC = "users.events.v1"


class EventLog:
    """Reads users.events.v1 from the beginning and keeps the events about some users."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = KafkaConsumer(
            TOPIC,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.records: list[tuple[Any, CloudEvent]] = []

    def about(self, user_ids: set[str]) -> list[CloudEvent]:
        for batch in self._consumer.poll(timeout_ms=300).values():
            for record in batch:
                self.records.append((record, CloudEvent.from_kafka(record.headers, record.value)))
        return [e for _, e in self.records if e.subject in user_ids]

    def close(self) -> None:
        self._consumer.close()


def _writes(api: Any) -> tuple[str, set[str], list[str]]:
    """Register two users, update one, follow and unfollow; return ids and expected names."""
    alice, bob = api.register(), api.register()
    ids = {alice.id, bob.id}
    assert (
        api.call("PUT", "/api/user", token=alice.token, json={"user": {"bio": "hello"}}).status_code
        == 200
    )
    # An email change alone is not a public profile change: no event.
    assert (
        api.call(
            "PUT",
            "/api/user",
            token=alice.token,
            json={"user": {"email": f"new{uuid.uuid4().hex[:6]}@example.com"}},
        ).status_code
        == 200
    )
    path = f"/api/profiles/{bob.username}/follow"
    assert api.call("POST", path, token=alice.token).status_code == 200
    assert api.call("POST", path, token=alice.token).status_code == 200  # no-op
    assert api.call("DELETE", path, token=alice.token).status_code == 200
    expected = ["UserRegistered", "UserRegistered", "UserUpdated", "UserFollowed", "UserUnfollowed"]
    return alice.id, ids, expected


def _check(log: EventLog, alice: str, ids: set[str], expected: list[str]) -> None:
    events = eventually(
        lambda: (lambda e: e if len(e) >= len(expected) else [])(log.about(ids)),
        timeout=60,
        what="the users events",
    )
    # Nothing more arrives: exactly one event per write.
    assert len(log.about(ids)) == len(expected)
    assert sorted(e.name for e in events) == sorted(expected)
    assert len({e.id for e in events}) == len(events)
    for record, event in log.records:
        if event.subject in ids:
            headers = dict(record.headers)
            assert headers["ce_specversion"] == b"1.0"
            assert headers["ce_source"] == b"/newsroom/users"
            assert headers["ce_type"].startswith(b"dev.newsroom.users.")
            assert record.key.decode() == event.subject
    # Order per key: alice's events (follows are keyed by the follower) in the order made.
    assert [e.name for e in events if e.subject == alice] == [
        "UserRegistered",
        "UserUpdated",
        "UserFollowed",
        "UserUnfollowed",
    ]


def test_each_write_publishes_exactly_one_event(api: Any, stack: Any) -> None:
    log = EventLog(stack.kafka.bootstrap_servers)
    try:
        alice, ids, expected = _writes(api)
        _check(log, alice, ids, expected)
    finally:
        log.close()


def test_writes_succeed_with_the_broker_down_and_every_event_arrives_after(
    api: Any, stack: Any
) -> None:
    stack.kafka.stop()
    try:
        alice, ids, expected = _writes(api)
    finally:
        stack.kafka.start()
    log = EventLog(stack.kafka.bootstrap_servers)
    try:
        _check(log, alice, ids, expected)
    finally:
        log.close()
