"""The project's ASGI application for log tests of a real server: Django's URL conf with views
that fail on purpose (tests.urls_with_failures), and one path that fails outside Django, where
only uvicorn's own error log sees it."""

from __future__ import annotations

from django.conf import settings

from missioncontrol.asgi import application as project_application

settings.ROOT_URLCONF = "tests.urls_with_failures"


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/test-asgi-boom":
        raise RuntimeError("failed outside Django")
    return await project_application(scope, receive, send)
