from django.apps import AppConfig


class MissionControlConfig(AppConfig):
    """The project package: settings, urls, asgi, wsgi, routing, celery. It owns no models any
    more; it stays an app for its migration history (the backup table moved to ops, and ops'
    first migration depends on this app's)."""

    name = "missioncontrol"
    verbose_name = "Mission Control"
