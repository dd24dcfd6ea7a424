"""Use cases of the users service. No Flask, no SQL: ports only."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from newsroom_common.errors import NotFound, Unauthorized, ValidationFailed
from newsroom_users.domain.events import UserFollowed, UserRegistered, UserUnfollowed, UserUpdated
from newsroom_users.domain.model import (
    Profile,
    User,
    profile_of,
    unset_if_blank,
    validate_fields,
)
from newsroom_users.service_layer.ports import (
    PasswordHasher,
    ReplicaWatch,
    TokenIssuer,
    UsersUnitOfWork,
)

UowFactory = Callable[[], UsersUnitOfWork]
UPDATABLE = ("email", "username", "password", "bio", "image")


def register(
    *,
    uow: UowFactory,
    hasher: PasswordHasher,
    tokens: TokenIssuer,
    email: object,
    username: object,
    password: object,
) -> tuple[User, str]:
    """Create an account; 422 per field when invalid or taken."""
    validate_fields(
        email=email,
        username=username,
        password=password,
        required=("email", "username", "password"),
    )
    # Validated above: these are strings now.
    email, username, password = str(email), str(username), str(password)
    # Hash before the transaction opens: it is the slow part and needs no lock.
    user = User(
        id=str(uuid.uuid4()),
        email=email.strip(),
        username=username,
        password_hash=hasher.hash(password),
    )
    with uow() as work:
        _ensure_free(work, email=user.email, username=user.username, user_id=None)
        work.users.create(user)
        work.publish(
            UserRegistered(id=user.id, username=user.username, bio=user.bio, image=user.image)
        )
        work.commit()
    return user, tokens.issue(user)


def login(
    *,
    uow: UowFactory,
    hasher: PasswordHasher,
    tokens: TokenIssuer,
    email: object,
    password: object,
) -> tuple[User, str]:
    """Check credentials; 401 for an unknown email or a wrong password alike."""
    validate_fields(email=email, password=password, required=("email", "password"))
    email, password = str(email), str(password)
    if len(email) > 254 or len(password) > 1024:
        raise Unauthorized("email or password is invalid")
    with uow() as work:
        user = work.users.get_by_email(email.strip())
    if user is None:
        # Spend the same time as a real check, so timing does not reveal which emails exist.
        hasher.verify(_DUMMY_HASH.get(hasher), password)
        raise Unauthorized("email or password is invalid")
    if not hasher.verify(user.password_hash, password):
        raise Unauthorized("email or password is invalid")
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        with uow() as work:
            work.users.update(user)
            work.commit()
    return user, tokens.issue(user)


class _DummyHash:
    """A hash of a random password per hasher, made once, for the unknown-email path."""

    def __init__(self) -> None:
        self._by_hasher: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._by_hasher:
            self._by_hasher[key] = hasher.hash(uuid.uuid4().hex)
        return self._by_hasher[key]


_DUMMY_HASH = _DummyHash()


def get_current(*, uow: UowFactory, user_id: str) -> User:
    """The caller's account; 401 when the token's user no longer exists."""
    with uow() as work:
        user = work.users.get(user_id)
    if user is None:
        raise Unauthorized("user no longer exists")
    return user


def update(
    *,
    uow: UowFactory,
    hasher: PasswordHasher,
    tokens: TokenIssuer,
    user_id: str,
    changes: Mapping[str, object],
) -> tuple[User, str]:
    """Change the caller's account; publishes UserUpdated when the public profile changed."""
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise ValidationFailed(fields={k: ["is not an updatable field"] for k in unknown})
    image = changes.get("image")
    validate_fields(
        email=changes.get("email"),
        username=changes.get("username"),
        password=changes.get("password"),
        bio=changes.get("bio"),
        image=image,
    )
    for field in ("email", "username", "password"):
        if field in changes and changes[field] in (None, ""):
            raise ValidationFailed(fields={field: ["can't be blank"]})
    new_hash = hasher.hash(str(changes["password"])) if "password" in changes else None
    with uow() as work:
        user = work.users.get(user_id)
        if user is None:
            raise Unauthorized("user no longer exists")
        before = profile_of(user, following=False)
        email, username = changes.get("email"), changes.get("username")
        _ensure_free(
            work,
            email=email if isinstance(email, str) else None,
            username=username if isinstance(username, str) else None,
            user_id=user.id,
        )
        if isinstance(email, str):
            user.email = email.strip()
        if isinstance(username, str):
            user.username = username
        if "bio" in changes:
            user.bio = unset_if_blank(changes["bio"])
        if "image" in changes:
            user.image = unset_if_blank(image)
        if new_hash is not None:
            user.password_hash = new_hash
        work.users.update(user)
        if profile_of(user, following=False) != before:
            work.publish(
                UserUpdated(id=user.id, username=user.username, bio=user.bio, image=user.image)
            )
        work.commit()
    # A new token: the old one names the old username.
    return user, tokens.issue(user)


def get_profile(*, uow: UowFactory, username: str, viewer_id: str | None) -> Profile:
    """A user's public profile; 404 when there is no such user."""
    with uow() as work:
        user = work.users.get_by_username(username)
        if user is None:
            raise NotFound("profile not found")
        following = viewer_id is not None and work.follows.is_following(viewer_id, user.id)
    return profile_of(user, following=following)


def get_profile_by_id(*, uow: UowFactory, user_id: str) -> tuple[str, Profile]:
    """A profile by user id (for peer services filling their replica)."""
    with uow() as work:
        user = work.users.get(user_id)
    if user is None:
        raise NotFound("profile not found")
    return user.id, profile_of(user, following=False)


def followees(*, uow: UowFactory, user_id: str) -> list[str]:
    """Ids of the users `user_id` follows (for peers that keep a replica)."""
    with uow() as work:
        if work.users.get(user_id) is None:
            raise NotFound("user not found")
        return sorted(work.follows.followees(user_id))


def follow(
    *,
    uow: UowFactory,
    follower_id: str,
    username: str,
    replicas: ReplicaWatch | None = None,
    visible_within: float = 0.0,
) -> Profile:
    """Follow `username`; following twice changes nothing and publishes nothing.

    With `replicas`, answers once they hold the follow (up to `visible_within` seconds): the
    follower's next feed, read from articles' replica, shows it.
    """
    with uow() as work:
        target = _followable(work, follower_id=follower_id, username=username)
        event = None
        if work.follows.create(follower_id, target.id):
            event = work.publish(UserFollowed(follower_id=follower_id, followee_id=target.id))
        work.commit()
    if event is not None and replicas is not None:
        replicas.wait_applied(event.id, timeout=visible_within)
    return profile_of(target, following=True)


def unfollow(
    *,
    uow: UowFactory,
    follower_id: str,
    username: str,
    replicas: ReplicaWatch | None = None,
    visible_within: float = 0.0,
) -> Profile:
    """Stop following `username`; idempotent. `replicas`: as for `follow`."""
    with uow() as work:
        target = _followable(work, follower_id=follower_id, username=username)
        event = None
        if work.follows.delete(follower_id, target.id):
            event = work.publish(UserUnfollowed(follower_id=follower_id, followee_id=target.id))
        work.commit()
    if event is not None and replicas is not None:
        replicas.wait_applied(event.id, timeout=visible_within)
    return profile_of(target, following=False)


def _followable(work: UsersUnitOfWork, *, follower_id: str, username: str) -> User:
    if work.users.get(follower_id) is None:
        raise Unauthorized("user no longer exists")
    target = work.users.get_by_username(username)
    if target is None:
        raise NotFound("profile not found")
    if target.id == follower_id:
        raise ValidationFailed(fields={"username": ["you cannot follow yourself"]})
    return target


def _ensure_free(
    work: UsersUnitOfWork, *, email: str | None, username: str | None, user_id: str | None
) -> None:
    work.users.reserve(email=email, username=username)
    errors: dict[str, list[str]] = {}
    if email is not None:
        owner = work.users.get_by_email(email.strip())
        if owner is not None and owner.id != user_id:
            errors["email"] = ["has already been taken"]
    if username is not None:
        owner = work.users.get_by_username(username)
        if owner is not None and owner.id != user_id:
            errors["username"] = ["has already been taken"]
    if errors:
        raise ValidationFailed(fields=errors)
