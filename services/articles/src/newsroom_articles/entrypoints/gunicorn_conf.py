"""gunicorn configuration of the articles API.

Run: `gunicorn -c python:newsroom_articles.entrypoints.gunicorn_conf`.
"""

from newsroom_articles import config
from newsroom_common.gunicorn_config import settings

# gunicorn reads module-level names; the shared builder keeps every service's settings alike.
globals().update(
    settings(
        service="articles",
        prefix="ARTICLES_",
        default_port=8002,
        wsgi_app="newsroom_articles.entrypoints.app:create_app()",
        load_settings=config.load,
    )
)
