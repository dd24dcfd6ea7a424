"""gunicorn configuration of the views API.

Run: `gunicorn -c python:newsroom_views.entrypoints.gunicorn_conf`.
"""

from newsroom_common.gunicorn_config import settings
from newsroom_views.config import load as load_views_settings

# gunicorn reads module-level names; the shared builder keeps every service's settings alike.
globals().update(
    settings(
        service="views",
        wsgi_app="newsroom_views.entrypoints.app:create_app()",
        # Imported under this name: gunicorn would take a module-level `config` for its own
        # setting of that name.
        load_settings=load_views_settings,
    )
)
