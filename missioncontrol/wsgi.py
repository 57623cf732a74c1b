"""WSGI entry point: plain HTTP in production (gunicorn, deploy/gunicorn.conf.py).

Websockets, the SSE stream and the embedded default are served by the ASGI application
(missioncontrol.asgi); the proxy routes by path (deploy/nginx.conf.template).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
django_wsgi_app = get_wsgi_application()

from infra.body_limit import WSGIRequestBodyLimit  # noqa: E402  (needs Django set up)

application = WSGIRequestBodyLimit(django_wsgi_app)
