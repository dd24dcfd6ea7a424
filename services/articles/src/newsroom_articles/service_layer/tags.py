"""Use cases of tags. No Flask, no SQL: ports only."""

from __future__ import annotations

from collections.abc import Callable

from newsroom_articles.service_layer.ports import ArticlesUnitOfWork

UowFactory = Callable[[], ArticlesUnitOfWork]


def list_tags(*, uow: UowFactory, limit: int) -> list[str]:
    """Tags in use, the most used first."""
    with uow() as work:
        return work.tags.list(limit=limit)
