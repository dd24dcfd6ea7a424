"""Wiring: the one place that builds the users service's adapters from settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from newsroom_common.auth import KeySet, TokenVerifier
from newsroom_common.db import create_engine
from newsroom_users import config
from newsroom_users.adapters.passwords import Argon2Hasher
from newsroom_users.adapters.replica_watch import KafkaReplicaWatch
from newsroom_users.adapters.tables import outbox
from newsroom_users.adapters.tokens import JwtIssuer, SigningKeys, load_signing_keys
from newsroom_users.adapters.unit_of_work import SqlUsersUnitOfWork
from newsroom_users.config import UsersSettings
from newsroom_users.service_layer.ports import ReplicaWatch, UsersUnitOfWork
from newsroom_users.topics import USERS_EVENTS


@dataclass(frozen=True)
class Services:
    """Everything the entrypoints call use cases with."""

    settings: UsersSettings
    engine: Engine
    hasher: Argon2Hasher
    keys: SigningKeys
    tokens: JwtIssuer
    verifier: TokenVerifier
    # Follows answer once these replicas hold them (read-your-writes for articles' feed).
    replicas: ReplicaWatch

    def uow(self) -> UsersUnitOfWork:
        """A fresh unit of work."""
        return SqlUsersUnitOfWork(self.engine)


def bootstrap(settings: UsersSettings | None = None, *, process: str = "api") -> Services:
    """Build the service's adapters; call after the fork."""
    settings = settings or config.load()
    keys = load_signing_keys(settings)
    engine = create_engine(settings, application_name=f"users-{process}")
    return Services(
        settings=settings,
        engine=engine,
        hasher=Argon2Hasher(),
        keys=keys,
        tokens=JwtIssuer(keys, ttl_seconds=settings.jwt_ttl_seconds),
        # The users service trusts its own keys directly: no HTTP call to itself.
        verifier=TokenVerifier(KeySet.static(keys.public_keys())),
        replicas=KafkaReplicaWatch(
            engine=engine,
            outbox=outbox,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=USERS_EVENTS,
            groups=settings.follow_readers,
        ),
    )
