"""The views API's routes: each one takes a trailing slash, without a redirect."""

from __future__ import annotations

from newsroom_common.config import DatabaseUrl
from newsroom_devstack.testing import trailing_slash_mismatches
from newsroom_views.config import ViewsSettings
from newsroom_views.entrypoints.app import create_app


def test_every_route_takes_a_trailing_slash() -> None:
    # The engine is built but never connects: only the routing is looked at.
    app = create_app(
        ViewsSettings(database_url=DatabaseUrl("postgresql+psycopg2://x@127.0.0.1:1/x"))
    )
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/api/articles/<slug>/views", "/api/views/popular"} <= rules
    assert trailing_slash_mismatches(app.url_map) == []
