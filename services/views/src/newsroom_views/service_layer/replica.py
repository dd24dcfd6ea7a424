"""Use cases of the replicas: articles (slug, title, author, deleted) and author names."""

from __future__ import annotations

from newsroom_views.domain.model import (
    Article,
    Author,
    apply_article_change,
    apply_author_change,
)
from newsroom_views.service_layer.ports import Repositories


def apply_article(*, repos: Repositories, change: Article) -> bool:
    """Bring the article replica up to `change`; False when it was stale or after a delete."""
    updated = apply_article_change(repos.articles.get(change.id), change)
    if updated is None:
        return False
    repos.articles.update(updated)
    return True


def apply_author(*, repos: Repositories, change: Author) -> bool:
    """Bring the author replica up to `change`; False when it was stale."""
    updated = apply_author_change(repos.authors.get(change.id), change)
    if updated is None:
        return False
    repos.authors.update(updated)
    return True
