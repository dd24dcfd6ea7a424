"""Settings of the articles service, read from `ARTICLES_*` environment variables."""

from __future__ import annotations

import dataclasses

from newsroom_common.config import ServiceSettings, load_settings

PREFIX = "ARTICLES_"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArticlesSettings(ServiceSettings):
    """Everything the articles service reads from its environment."""

    bind: str = "0.0.0.0:8002"
    jwks_url: str = "http://127.0.0.1:8001/.well-known/jwks.json"
    # Base URL of the users service, for profiles the replica has not seen yet.
    users_url: str = "http://127.0.0.1:8001"
    users_connect_timeout: float = 0.3
    users_read_timeout: float = 1.0
    # ArticleViewed events held in memory per worker while Kafka is slow or down.
    view_buffer_size: int = 10000
    # Cache lifetime of anonymous GET responses in the gateway and browsers.
    public_max_age: int = 5
    # How many tags `GET /api/tags` answers at most (the most used first).
    tags_limit: int = 1000


def load() -> ArticlesSettings:
    """Settings from the process environment."""
    return load_settings(ArticlesSettings, prefix=PREFIX)
