"""The users API's app factory (gunicorn: `newsroom_users.entrypoints.app:create_app()`)."""

from __future__ import annotations

from flask import Flask

from newsroom_common.db import ping
from newsroom_common.kafka_clients import broker_reachable
from newsroom_common.logs import configure_logging
from newsroom_common.web import create_base_app
from newsroom_users import bootstrap, config
from newsroom_users.config import UsersSettings
from newsroom_users.entrypoints import internal, profiles, users


def create_app(settings: UsersSettings | None = None) -> Flask:
    """Build the users API; connects lazily, on the first request."""
    settings = settings or config.load()
    configure_logging(service="users", level=settings.log_level)
    services = bootstrap.bootstrap(settings)

    def database() -> tuple[bool, str]:
        ping(services.engine)
        return True, "ok"

    def kafka() -> tuple[bool, str]:
        ok = broker_reachable(services.settings.kafka_bootstrap_servers)
        return ok, "reachable" if ok else "unreachable (writes wait in the outbox)"

    app = create_base_app(
        "newsroom_users", readiness={"database": database}, optional_readiness={"kafka": kafka}
    )
    app.extensions["users"] = services
    for blueprint in (users.bp, profiles.bp, internal.bp):
        app.register_blueprint(blueprint)
    return app
