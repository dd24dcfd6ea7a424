"""gunicorn configuration of the users API.

Run: `gunicorn -c python:newsroom_users.entrypoints.gunicorn_conf`.
"""

from newsroom_common.gunicorn_config import settings
from newsroom_users.config import load as load_users_settings

# gunicorn reads module-level names; the shared builder keeps every service's settings alike.
globals().update(
    settings(
        service="users",
        wsgi_app="newsroom_users.entrypoints.app:create_app()",
        # Imported under this name: gunicorn would take a module-level `config` for its own
        # setting of that name.
        load_settings=load_users_settings,
    )
)
