"""The views unit of work: the shared one, with the replica and count repositories."""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from newsroom_common.uow import UnitOfWork
from newsroom_views.adapters.repositories import (
    SqlArticleRepository,
    SqlAuthorRepository,
    SqlCountRepository,
)
from newsroom_views.adapters.tables import outbox
from newsroom_views.service_layer.ports import (
    ArticleRepository,
    AuthorRepository,
    CountRepository,
)

SOURCE = "/newsroom/views"
TYPE_PREFIX = "dev.newsroom.views"


class SqlViewsUnitOfWork(UnitOfWork):
    """One transaction over the views database."""

    articles: ArticleRepository
    authors: AuthorRepository
    counts: CountRepository

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine=engine, outbox=outbox, source=SOURCE, type_prefix=TYPE_PREFIX)

    def bind(self, connection: Connection) -> None:
        self.articles = SqlArticleRepository(connection)
        self.authors = SqlAuthorRepository(connection)
        self.counts = SqlCountRepository(connection)
