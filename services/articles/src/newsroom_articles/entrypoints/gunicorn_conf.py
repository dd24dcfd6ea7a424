"""gunicorn configuration of the articles API.

Run: `gunicorn -c python:newsroom_articles.entrypoints.gunicorn_conf`.
"""

from newsroom_articles.config import load as load_articles_settings
from newsroom_common.gunicorn_config import settings

# gunicorn reads module-level names; the shared builder keeps every service's settings alike.
globals().update(
    settings(
        service="articles",
        wsgi_app="newsroom_articles.entrypoints.app:create_app()",
        # Imported under this name: gunicorn would take a module-level `config` for its own
        # setting of that name.
        load_settings=load_articles_settings,
    )
)
