"""The views API's app factory (gunicorn: `newsroom_views.entrypoints.app:create_app()`)."""

from __future__ import annotations

from flask import Flask

from newsroom_common.db import ping
from newsroom_common.logs import configure_logging
from newsroom_common.web import create_base_app
from newsroom_views import bootstrap
from newsroom_views.config import ViewsSettings
from newsroom_views.entrypoints import views


def create_app(settings: ViewsSettings | None = None) -> Flask:
    """Build the views API; connects lazily, on the first request."""
    services = bootstrap.bootstrap(settings)
    configure_logging(service="views", level=services.settings.log_level)

    def database() -> tuple[bool, str]:
        ping(services.engine)
        return True, "ok"

    # Kafka is not a readiness check: the API reads only the database, the consumers write it.
    app = create_base_app("newsroom_views", readiness={"database": database})
    app.extensions["views"] = services
    app.register_blueprint(views.bp)
    return app
