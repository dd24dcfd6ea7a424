"""Authors the replica has not seen yet: asked from users, else taken from the caller's token.

Users is asked outside any transaction: a slow users service must never hold a
database connection.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from newsroom_articles.domain.model import Author, Profile
from newsroom_articles.service_layer.ports import ArticlesUnitOfWork, ProfileDirectory
from newsroom_common.auth import Principal
from newsroom_common.errors import Unavailable

log = logging.getLogger(__name__)

UowFactory = Callable[[], ArticlesUnitOfWork]
# Shown for an author neither the replica nor users can name right now.
UNKNOWN_USERNAME = "unknown"


def resolve(
    uow: UowFactory,
    directory: ProfileDirectory,
    authors: Sequence[Author],
    *,
    caller: Principal | None,
) -> dict[str, Author]:
    """Authors by id, the unknown ones completed; profiles users knows are stored in the replica."""
    resolved = {a.id: a for a in authors if a.known}
    fetched: list[Profile] = []
    for author in authors:
        if author.id in resolved:
            continue
        profile = _ask_users(directory, author.id)
        if profile is not None:
            fetched.append(profile)
        elif caller is not None and caller.user_id == author.id:
            profile = Profile(id=author.id, username=caller.username)
        else:
            profile = Profile(id=author.id, username=UNKNOWN_USERNAME)
        resolved[author.id] = dataclasses.replace(
            author, username=profile.username, bio=profile.bio, image=profile.image, known=True
        )
    if fetched:
        with uow() as work:
            for profile in fetched:
                work.profiles.add_if_absent(profile)
            work.commit()
    return resolved


def ensure_caller_profile(
    uow: UowFactory, directory: ProfileDirectory, *, caller: Principal
) -> Profile:
    """Make sure the replica knows the caller before they write (their event may be in flight).

    Returns the profile as the replica holds it now.
    """
    with uow() as work:
        known = work.profiles.get(caller.user_id)
        if known is not None:
            return known
    # The token's claims are signed by users; the user's own event corrects bio and image later.
    profile = _ask_users(directory, caller.user_id) or Profile(
        id=caller.user_id, username=caller.username
    )
    with uow() as work:
        work.profiles.add_if_absent(profile)
        work.commit()
    return profile


def _ask_users(directory: ProfileDirectory, user_id: str) -> Profile | None:
    try:
        return directory.get(user_id)
    except Unavailable as exc:
        log.info("users unavailable for profile %s: %s", user_id, exc)
        return None
