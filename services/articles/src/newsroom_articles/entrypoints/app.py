"""The articles API's app factory (gunicorn: `newsroom_articles.entrypoints.app:create_app()`)."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from newsroom_articles import bootstrap
from newsroom_articles.config import ArticlesSettings
from newsroom_articles.entrypoints import articles, blueprint_helpers, comments, favorites, tags
from newsroom_common.db import ping
from newsroom_common.event_buffer import BufferedEventPublisher
from newsroom_common.kafka_clients import broker_reachable
from newsroom_common.logs import configure_logging
from newsroom_common.web import create_base_app

log = logging.getLogger(__name__)


def create_app(settings: ArticlesSettings | None = None) -> Flask:
    """Build the articles API; connects lazily, on the first request."""
    services = bootstrap.bootstrap(settings)
    configure_logging(service="articles", level=services.settings.log_level)

    def database() -> tuple[bool, str]:
        ping(services.engine)
        return True, "ok"

    def kafka() -> tuple[bool, str]:
        ok = broker_reachable(services.settings.kafka_bootstrap_servers)
        return ok, "reachable" if ok else "unreachable (events wait in the outbox and buffer)"

    def views_buffer() -> tuple[bool, str]:
        # Informational: a full buffer drops views but never makes the API unready.
        views = services.views
        if not isinstance(views, BufferedEventPublisher):
            return True, "not buffered"
        stats = views.stats
        return True, f"pending {views.pending()}, sent {stats.sent}, dropped {stats.dropped}"

    app = create_base_app(
        "newsroom_articles",
        readiness={"database": database},
        optional_readiness={"kafka": kafka, "views_buffer": views_buffer},
    )
    app.extensions["articles"] = services
    app.url_map.converters["article_slug"] = blueprint_helpers.ArticleSlugConverter
    for blueprint in (articles.bp, favorites.bp, comments.bp, tags.bp):
        app.register_blueprint(blueprint)
    app.url_value_preprocessor(blueprint_helpers.refuse_nul_in_path)
    app.after_request(blueprint_helpers.add_cache_headers)
    threading.Thread(target=_warm_keys, args=(services,), name="jwks-warmup", daemon=True).start()
    return app


def _warm_keys(services: bootstrap.Services) -> None:
    """Fetch users' public keys now, so signed-in requests keep working if users goes down."""
    try:
        # An unknown kid makes the key set fetch the document.
        services.keys.get("")
    except Exception as exc:
        # The first signed-in request fetches them instead.
        log.info("could not fetch the JWKS yet: %s", exc)
