"""Settings of the users service, read from `USERS_*` environment variables."""

from __future__ import annotations

import dataclasses

from newsroom_common.config import Secret, ServiceSettings, load_settings

PREFIX = "USERS_"


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsersSettings(ServiceSettings):
    """Everything the users service reads from its environment."""

    bind: str = "0.0.0.0:8001"
    # The Ed25519 signing key (PKCS8 PEM), inline or as a mounted file.
    jwt_private_key: Secret = dataclasses.field(default_factory=lambda: Secret(""))
    jwt_private_key_file: str = ""
    # Public keys of retired signing keys, still accepted until their tokens expire.
    jwt_previous_public_keys_file: str = ""
    jwt_ttl_seconds: int = 7 * 24 * 3600
    # Peers' consumer groups whose replicas promise read-your-writes for follows
    # (comma-separated): a follow answers once they hold it, or after the timeout
    # (adapters/replica_watch). Users names no peer's group itself: whoever composes the
    # platform does (the devstack from each service's topics.FOLLOW_READERS, the umbrella
    # chart's users.followVisibility.readers). Empty: a follow waits for nobody.
    follow_readers: tuple[str, ...] = ()
    follow_visible_timeout_seconds: float = 5.0
    # Where a generated development key is kept when no key is configured.
    dev_key_path: str = "var/dev-jwt-ed25519.pem"


def load() -> UsersSettings:
    """Settings from the process environment."""
    return load_settings(UsersSettings, prefix=PREFIX)
