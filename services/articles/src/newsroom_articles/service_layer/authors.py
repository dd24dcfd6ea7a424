"""Authors the replica has not seen yet: asked from users, else taken from the caller's token."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from newsroom_articles.domain.model import Author, Profile
from newsroom_articles.service_layer.ports import ArticlesUnitOfWork, ProfileDirectory
from newsroom_common.auth import Principal
from newsroom_common.errors import Unavailable

log = logging.getLogger(__name__)

# Shown for an author neither the replica nor users can name right now.
UNKNOWN_USERNAME = "unknown"


def resolve(
    work: ArticlesUnitOfWork,
    directory: ProfileDirectory,
    authors: Iterable[Author],
    *,
    caller: Principal | None,
) -> dict[str, Author]:
    """Authors by id, the unknown ones completed; fetched profiles are stored in the replica."""
    resolved: dict[str, Author] = {}
    for author in authors:
        if author.known or author.id in resolved:
            resolved.setdefault(author.id, author)
            continue
        profile = _lookup(work, directory, author.id, caller=caller)
        resolved[author.id] = dataclasses.replace(
            author, username=profile.username, bio=profile.bio, image=profile.image, known=True
        )
    return resolved


def _lookup(
    work: ArticlesUnitOfWork,
    directory: ProfileDirectory,
    user_id: str,
    *,
    caller: Principal | None,
) -> Profile:
    try:
        profile = directory.get(user_id)
    except Unavailable as exc:
        log.info("users unavailable for author %s: %s", user_id, exc)
        profile = None
    if profile is not None:
        work.profiles.add_if_absent(profile)
        return profile
    if caller is not None and caller.user_id == user_id:
        return Profile(id=user_id, username=caller.username)
    return Profile(id=user_id, username=UNKNOWN_USERNAME)


def ensure_caller_profile(
    work: ArticlesUnitOfWork, directory: ProfileDirectory, *, caller: Principal
) -> None:
    """Make sure the replica knows the caller before they write (their event may be in flight)."""
    if work.profiles.get(caller.user_id) is not None:
        return
    try:
        profile = directory.get(caller.user_id)
    except Unavailable as exc:
        log.info("users unavailable, author %s taken from the token: %s", caller.user_id, exc)
        profile = None
    # The token's claims are signed by users; the user's own event corrects bio and image later.
    work.profiles.add_if_absent(profile or Profile(id=caller.user_id, username=caller.username))
