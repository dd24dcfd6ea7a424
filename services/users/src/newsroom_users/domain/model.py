"""Users, profiles and the rules for their fields. Plain Python."""

from __future__ import annotations

import dataclasses
import re

from newsroom_common.errors import ValidationFailed

USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
BIO_MAX = 1000
IMAGE_MAX = 2000


@dataclasses.dataclass
class User:
    """An account. The password hash never leaves the service.

    `bio` and `image` are None while unset (RealWorld answers null for them, and front ends
    test for null to show a default avatar); an empty string is never stored: see `unset_if_blank`.
    """

    id: str
    email: str
    username: str
    password_hash: str
    bio: str | None = None
    image: str | None = None


@dataclasses.dataclass(frozen=True)
class Profile:
    """What anyone may see of a user, from the viewer's point of view."""

    username: str
    bio: str | None
    image: str | None
    following: bool


def unset_if_blank(value: object) -> str | None:
    """An optional profile field as stored: None for null or "" (both mean "unset")."""
    return str(value) if value not in (None, "") else None


def profile_of(user: User, *, following: bool) -> Profile:
    """The public face of `user`."""
    return Profile(username=user.username, bio=user.bio, image=user.image, following=following)


def validate_fields(
    *,
    email: object = None,
    username: object = None,
    password: object = None,
    bio: object = None,
    image: object = None,
    required: tuple[str, ...] = (),
) -> None:
    """Raise ValidationFailed with a message per invalid field."""
    given = {"email": email, "username": username, "password": password, "bio": bio, "image": image}
    errors: dict[str, list[str]] = {}
    for name in required:
        if given[name] is None or given[name] == "":
            errors[name] = ["can't be blank"]
    for name, value in given.items():
        if value is None or name in errors:
            continue
        if not isinstance(value, str):
            errors[name] = ["must be a string"]
    if (
        "email" not in errors
        and isinstance(email, str)
        and (len(email) > 254 or not EMAIL.match(email))
    ):
        errors["email"] = ["is invalid"]
    if "username" not in errors and isinstance(username, str) and not USERNAME.match(username):
        errors["username"] = ["must be 1 to 32 letters, digits, '_' or '-'"]
    if (
        "password" not in errors
        and isinstance(password, str)
        and not (PASSWORD_MIN <= len(password) <= PASSWORD_MAX)
    ):
        errors["password"] = [f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"]
    if "bio" not in errors and isinstance(bio, str) and len(bio) > BIO_MAX:
        errors["bio"] = [f"is too long (at most {BIO_MAX} characters)"]
    if (
        "image" not in errors
        and isinstance(image, str)
        and image
        and (len(image) > IMAGE_MAX or not image.startswith(("http://", "https://")))
    ):
        errors["image"] = ["must be an http(s) URL"]
    if errors:
        raise ValidationFailed(fields=errors)
