"""Users' events kept in the replica; bad data raises so the runner dead-letters it."""

from __future__ import annotations

import pytest

from newsroom_articles.domain.model import Profile
from newsroom_articles.service_layer.replica import apply_users_events
from newsroom_common.events import CloudEvent

from .fakes import Fakes, FakeUnitOfWork


def _event(name: str, **data: object) -> CloudEvent:
    return CloudEvent.from_kafka(
        [
            ("ce_id", f"{name}-{data}".encode()),
            ("ce_source", b"/newsroom/users"),
            ("ce_type", f"dev.newsroom.users.{name}".encode()),
            ("ce_specversion", b"1.0"),
        ],
        CloudEvent(id="", source="", type="", time=None, data=data).value(),  # type: ignore[arg-type]
    )


def test_profiles_and_follows_follow_the_events(fakes: Fakes) -> None:
    work = FakeUnitOfWork(fakes.store)
    apply_users_events(
        work,
        [
            _event("UserRegistered", id="u1", username="alice", bio="", image=""),
            _event("UserRegistered", id="u2", username="bob", bio="", image=""),
            _event("UserUpdated", id="u1", username="alicia", bio="hi", image="http://i"),
            _event("UserFollowed", follower_id="u2", followee_id="u1"),
            _event("UserFollowed", follower_id="u1", followee_id="u2"),
            _event("UserUnfollowed", follower_id="u1", followee_id="u2"),
            _event("UserSomethingNew", id="u1"),
        ],
    )
    assert fakes.store.profiles["u1"] == Profile("u1", "alicia", "hi", "http://i")
    # Users' older events sent "" for an unset field: kept as None, like a null.
    assert fakes.store.profiles["u2"] == Profile("u2", "bob", None, None)
    assert fakes.store.follows == {("u2", "u1")}


def test_a_profile_field_set_to_null_or_empty_is_unset(fakes: Fakes) -> None:
    work = FakeUnitOfWork(fakes.store)
    apply_users_events(
        work,
        [
            _event("UserRegistered", id="u1", username="ann", bio=None, image=None),
            _event("UserUpdated", id="u1", username="ann", bio="hi", image="https://i/a.png"),
        ],
    )
    assert fakes.store.profiles["u1"] == Profile("u1", "ann", "hi", "https://i/a.png")
    apply_users_events(work, [_event("UserUpdated", id="u1", username="ann", bio="", image=None)])
    assert fakes.store.profiles["u1"] == Profile("u1", "ann", None, None)


@pytest.mark.parametrize(
    "event",
    [
        _event("UserRegistered", id="u1"),
        _event("UserUpdated", id="u1", username=""),
        _event("UserFollowed", follower_id="u1"),
    ],
)
def test_an_event_with_bad_data_raises(fakes: Fakes, event: CloudEvent) -> None:
    with pytest.raises(ValueError, match="must be a non-empty string"):
        apply_users_events(FakeUnitOfWork(fakes.store), [event])


def test_a_bio_that_is_not_a_string_raises(fakes: Fakes) -> None:
    event = _event("UserUpdated", id="u1", username="ann", bio=5, image=None)
    with pytest.raises(ValueError, match="'bio' must be a string or null"):
        apply_users_events(FakeUnitOfWork(fakes.store), [event])
