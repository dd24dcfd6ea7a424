"""The articles unit of work: the shared one, with the articles service's repositories."""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from newsroom_articles.adapters.articles import (
    SqlArticleRepository,
    SqlFavoriteRepository,
    SqlTagRepository,
)
from newsroom_articles.adapters.comments import SqlCommentRepository
from newsroom_articles.adapters.read_cache import ReadCache
from newsroom_articles.adapters.replica import SqlFollowRepository, SqlProfileRepository
from newsroom_articles.adapters.tables import outbox
from newsroom_articles.service_layer.ports import (
    ArticleRepository,
    CommentRepository,
    FavoriteRepository,
    FollowRepository,
    ProfileRepository,
    TagRepository,
)
from newsroom_common.uow import UnitOfWork

SOURCE = "/newsroom/articles"
TYPE_PREFIX = "dev.newsroom.articles"


class SqlArticlesUnitOfWork(UnitOfWork):
    """One transaction over the articles database."""

    articles: ArticleRepository
    comments: CommentRepository
    favorites: FavoriteRepository
    tags: TagRepository
    profiles: ProfileRepository
    follows: FollowRepository

    def __init__(
        self, engine: Engine, *, read_only: bool = False, read_cache: ReadCache | None = None
    ) -> None:
        # Only reads outside a transaction may share pages: a transaction sees its own
        # uncommitted writes, which must never reach another reader.
        self._read_cache = read_cache if read_only else None
        super().__init__(
            engine=engine,
            outbox=outbox,
            source=SOURCE,
            type_prefix=TYPE_PREFIX,
            read_only=read_only,
        )

    def bind(self, connection: Connection) -> None:
        self.articles = SqlArticleRepository(connection, self._read_cache)
        self.comments = SqlCommentRepository(connection)
        self.favorites = SqlFavoriteRepository(connection)
        self.tags = SqlTagRepository(connection)
        self.profiles = SqlProfileRepository(connection)
        self.follows = SqlFollowRepository(connection)


class SqlReplica:
    """The replica repositories on the consumer runner's connection (the runner commits)."""

    def __init__(self, connection: Connection) -> None:
        self.profiles: ProfileRepository = SqlProfileRepository(connection)
        self.follows: FollowRepository = SqlFollowRepository(connection)
