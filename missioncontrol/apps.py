from django.apps import AppConfig


class MissionControlConfig(AppConfig):
    """The project package: settings, urls, asgi, celery, realtime. It owns no models any more;
    it stays an app for its migration history (the backup table moved to ops)."""

    name = "missioncontrol"
    verbose_name = "Mission Control"
