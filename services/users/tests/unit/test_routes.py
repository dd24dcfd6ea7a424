"""The users API's routes: each one takes a trailing slash, without a redirect."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from newsroom_common.config import DatabaseUrl, Secret
from newsroom_devstack.testing import trailing_slash_mismatches
from newsroom_users.config import UsersSettings
from newsroom_users.entrypoints.app import create_app


def test_every_route_takes_a_trailing_slash() -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The engine is built but never connects: only the routing is looked at.
    app = create_app(
        UsersSettings(
            database_url=DatabaseUrl("postgresql+psycopg2://nobody@127.0.0.1:1/x"),
            jwt_private_key=Secret(pem.decode()),
        )
    )
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/api/users", "/api/users/login", "/api/user", "/api/profiles/<username>"} <= rules
    assert trailing_slash_mismatches(app.url_map) == []
