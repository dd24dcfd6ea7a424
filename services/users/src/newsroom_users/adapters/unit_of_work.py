"""The users unit of work: the shared one, with users and follows repositories."""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from newsroom_common.uow import UnitOfWork
from newsroom_users.adapters.repositories import SqlFollowRepository, SqlUserRepository
from newsroom_users.adapters.tables import outbox
from newsroom_users.service_layer.ports import FollowRepository, UserRepository

SOURCE = "/newsroom/users"
TYPE_PREFIX = "dev.newsroom.users"


class SqlUsersUnitOfWork(UnitOfWork):
    """One transaction over the users database."""

    users: UserRepository
    follows: FollowRepository

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine=engine, outbox=outbox, source=SOURCE, type_prefix=TYPE_PREFIX)

    def bind(self, connection: Connection) -> None:
        self.users = SqlUserRepository(connection)
        self.follows = SqlFollowRepository(connection)
