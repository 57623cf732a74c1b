"""ASGI entry point: HTTP through Django, websockets through Channels, `/mcp` through the MCP SDK.

In the embedded default the Celery worker and beat run as threads of this process
(infra.embedded_worker), because the in-memory broker and channel layer are
per-process.
"""

import asyncio
import importlib
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from infra import realtime  # noqa: E402
from infra.body_limit import ASGIRequestBodyLimit  # noqa: E402
from infra.websocket_origin import OriginValidator  # noqa: E402
from missioncontrol.routing import websocket_urlpatterns  # noqa: E402

if settings.CELERY_EMBEDDED_WORKER:
    # Only the embedded default loads the Celery worker machinery into the web process.
    from infra.embedded_worker import start_embedded_worker
    from missioncontrol.celery import app as celery_app

    start_embedded_worker(celery_app)

if settings.GATEWAY_SUPERVISOR_EMBEDDED:
    # The gateway supervisor as a thread (gateways.embedded); production runs run_gateways.
    from gateways.embedded import start_embedded_supervisor

    start_embedded_supervisor()


class BindServerLoop:
    """Tells infra.realtime which event loop serves the sockets (see bind_event_loop)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        realtime.bind_event_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


class RouteMCP:
    """`/mcp` (streamable HTTP, agent tokens) to the MCP endpoint; every other path to Django.

    The MCP SDK takes about a second of CPU to import (pydantic models, its client, rich): it is
    imported on the first `/mcp` request, in a thread so the event loop keeps serving sockets,
    rather than at start-up of every ASGI process whether or not agents use MCP.
    """

    def __init__(self, django_app) -> None:
        self.django_app = django_app
        self.mcp_app = None

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if path == "/mcp" or path.startswith("/mcp/"):
            if self.mcp_app is None:
                module = await asyncio.to_thread(importlib.import_module, "agent_mcp.server")
                self.mcp_app = module.mcp_endpoint
            return await self.mcp_app(scope, receive, send)
        return await self.django_app(scope, receive, send)


router = ProtocolTypeRouter(
    {
        # Bodies are limited while streaming in, before Django would buffer them whole.
        "http": ASGIRequestBodyLimit(RouteMCP(django_asgi_app)),
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
application = BindServerLoop(router)
