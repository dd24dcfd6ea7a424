"""The users use cases against in-memory fakes."""

from __future__ import annotations

import pytest

from newsroom_common.errors import NotFound, Unauthorized, ValidationFailed
from newsroom_users.domain.events import UserFollowed, UserRegistered, UserUnfollowed, UserUpdated
from newsroom_users.service_layer import users

from .fakes import FakeTokens, FakeUnitOfWork, PlainHasher


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _register(uow: FakeUnitOfWork, name: str = "alice", email: str | None = None) -> str:
    user, _ = users.register(
        uow=uow,
        hasher=PlainHasher(),
        tokens=FakeTokens(),
        email=email or f"{name}@example.com",
        username=name,
        password="correct horse",
    )
    return user.id


def test_register_publishes_user_registered_without_email(uow: FakeUnitOfWork) -> None:
    user_id = _register(uow)
    assert len(uow.published) == 1
    event = uow.published[0]
    assert isinstance(event, UserRegistered)
    assert event.id == user_id
    assert "email" not in event.data()


def test_register_rejects_taken_username_and_email_regardless_of_case(
    uow: FakeUnitOfWork,
) -> None:
    _register(uow, "alice")
    with pytest.raises(ValidationFailed) as taken:
        _register(uow, "ALICE", email="ALICE@EXAMPLE.COM")
    assert taken.value.fields == {
        "email": ["has already been taken"],
        "username": ["has already been taken"],
    }
    assert len(uow.published) == 1


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"email": "", "username": "bob", "password": "long enough"}, "email"),
        ({"email": "not-an-email", "username": "bob", "password": "long enough"}, "email"),
        ({"email": "b@x.io", "username": "has space", "password": "long enough"}, "username"),
        ({"email": "b@x.io", "username": "bob", "password": "short"}, "password"),
        ({"email": "b@x.io", "username": 12, "password": "long enough"}, "username"),
        ({"email": "b@x.io", "username": "bob", "password": None}, "password"),
    ],
)
def test_register_validates_each_field(
    uow: FakeUnitOfWork, fields: dict[str, object], bad: str
) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        users.register(uow=uow, hasher=PlainHasher(), tokens=FakeTokens(), **fields)
    assert bad in invalid.value.fields
    assert uow.users.rows == {}


def test_login_checks_the_password_and_hides_which_part_was_wrong(uow: FakeUnitOfWork) -> None:
    _register(uow)
    user, token = users.login(
        uow=uow,
        hasher=PlainHasher(),
        tokens=FakeTokens(),
        email="Alice@Example.com",
        password="correct horse",
    )
    assert token == f"token-for-{user.id}"
    for email, password in [
        ("alice@example.com", "wrong password"),
        ("nobody@example.com", "correct horse"),
    ]:
        with pytest.raises(Unauthorized) as refused:
            users.login(
                uow=uow, hasher=PlainHasher(), tokens=FakeTokens(), email=email, password=password
            )
        assert refused.value.message == "email or password is invalid"


def test_update_publishes_only_when_the_public_profile_changes(uow: FakeUnitOfWork) -> None:
    user_id = _register(uow)
    users.update(
        uow=uow,
        hasher=PlainHasher(),
        tokens=FakeTokens(),
        user_id=user_id,
        changes={"email": "new@example.com", "password": "another secret"},
    )
    assert [type(e) for e in uow.published] == [UserRegistered]
    user, _ = users.update(
        uow=uow,
        hasher=PlainHasher(),
        tokens=FakeTokens(),
        user_id=user_id,
        changes={"bio": "I write", "username": "alice2"},
    )
    assert user.username == "alice2"
    assert isinstance(uow.published[-1], UserUpdated)
    assert uow.published[-1].bio == "I write"


def test_a_new_users_bio_and_image_are_unset_and_published_as_null(uow: FakeUnitOfWork) -> None:
    user_id = _register(uow)
    user = users.get_current(uow=uow, user_id=user_id)
    assert (user.bio, user.image) == (None, None)
    event = uow.published[0]
    assert (event.data()["bio"], event.data()["image"]) == (None, None)


@pytest.mark.parametrize("unset", [None, ""])
def test_bio_and_image_round_trip_and_null_or_empty_unsets_them(
    uow: FakeUnitOfWork, unset: str | None
) -> None:
    user_id = _register(uow)

    def update(**changes: object) -> tuple[str | None, str | None]:
        users.update(
            uow=uow, hasher=PlainHasher(), tokens=FakeTokens(), user_id=user_id, changes=changes
        )
        user = users.get_current(uow=uow, user_id=user_id)
        return user.bio, user.image

    assert update(bio="I write", image="https://img.example/a.png") == (
        "I write",
        "https://img.example/a.png",
    )
    assert update(bio=unset, image=unset) == (None, None)
    assert isinstance(uow.published[-1], UserUpdated)
    assert (uow.published[-1].bio, uow.published[-1].image) == (None, None)
    # Unsetting what is unset changes nothing, so nothing is published.
    published = len(uow.published)
    assert update(bio=unset, image=unset) == (None, None)
    assert len(uow.published) == published


def test_update_rejects_unknown_fields_and_blank_required_ones(uow: FakeUnitOfWork) -> None:
    user_id = _register(uow)
    with pytest.raises(ValidationFailed) as unknown:
        users.update(
            uow=uow,
            hasher=PlainHasher(),
            tokens=FakeTokens(),
            user_id=user_id,
            changes={"admin": True},
        )
    assert "admin" in unknown.value.fields
    with pytest.raises(ValidationFailed) as blank:
        users.update(
            uow=uow,
            hasher=PlainHasher(),
            tokens=FakeTokens(),
            user_id=user_id,
            changes={"username": ""},
        )
    assert "username" in blank.value.fields


def test_follow_and_unfollow_are_idempotent_and_publish_once(uow: FakeUnitOfWork) -> None:
    alice, _bob = _register(uow, "alice"), _register(uow, "bob")
    assert users.follow(uow=uow, follower_id=alice, username="bob").following
    assert users.follow(uow=uow, follower_id=alice, username="BOB").following
    assert users.get_profile(uow=uow, username="bob", viewer_id=alice).following
    assert not users.get_profile(uow=uow, username="bob", viewer_id=None).following
    assert not users.unfollow(uow=uow, follower_id=alice, username="bob").following
    users.unfollow(uow=uow, follower_id=alice, username="bob")
    kinds = [type(e) for e in uow.published]
    assert kinds == [UserRegistered, UserRegistered, UserFollowed, UserUnfollowed]
    assert uow.published[2].key() == alice


class RecordingWatch:
    """Replicas that hold everything at once; records what each follow waited for."""

    def __init__(self) -> None:
        self.waited: list[tuple[str, float]] = []

    def wait_applied(self, event_id: str, *, timeout: float) -> bool:
        self.waited.append((event_id, timeout))
        return True


def test_a_follow_that_changed_something_waits_for_the_replicas(uow: FakeUnitOfWork) -> None:
    alice, _bob = _register(uow, "alice"), _register(uow, "bob")
    watch = RecordingWatch()
    users.follow(uow=uow, follower_id=alice, username="bob", replicas=watch, visible_within=1.5)
    # Nothing new: nothing to wait for.
    users.follow(uow=uow, follower_id=alice, username="bob", replicas=watch, visible_within=1.5)
    users.unfollow(uow=uow, follower_id=alice, username="bob", replicas=watch, visible_within=0.5)

    followed, unfollowed = uow.published[2:]
    assert isinstance(followed, UserFollowed)
    assert isinstance(unfollowed, UserUnfollowed)
    assert len(watch.waited) == 2
    assert [timeout for _, timeout in watch.waited] == [1.5, 0.5]
    assert all(event_id for event_id, _ in watch.waited)


def test_followees_lists_who_a_user_follows(uow: FakeUnitOfWork) -> None:
    alice, bob, carol = _register(uow, "alice"), _register(uow, "bob"), _register(uow, "carol")
    users.follow(uow=uow, follower_id=alice, username="bob")
    users.follow(uow=uow, follower_id=alice, username="carol")
    assert users.followees(uow=uow, user_id=alice) == sorted([bob, carol])
    assert users.followees(uow=uow, user_id=bob) == []
    with pytest.raises(NotFound):
        users.followees(uow=uow, user_id="00000000-0000-0000-0000-000000000000")


def test_follow_errors(uow: FakeUnitOfWork) -> None:
    alice = _register(uow, "alice")
    with pytest.raises(NotFound):
        users.follow(uow=uow, follower_id=alice, username="ghost")
    with pytest.raises(ValidationFailed):
        users.follow(uow=uow, follower_id=alice, username="alice")
    with pytest.raises(NotFound):
        users.get_profile(uow=uow, username="ghost", viewer_id=None)
