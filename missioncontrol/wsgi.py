"""WSGI entry point (management tooling only; the server is ASGI: missioncontrol.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
application = get_wsgi_application()
