from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class MissionControlAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with its login and password change throttled (login_protection)."""

    default = False  # MissionControlConfig stays this module's default config
    default_site = "missioncontrol.login_protection.ThrottledAdminSite"


class MissionControlConfig(AppConfig):
    """The project package: settings, urls, asgi, celery, realtime. It owns no models any more;
    it stays an app for its migration history (the backup table moved to ops)."""

    name = "missioncontrol"
    verbose_name = "Mission Control"

    def ready(self) -> None:
        # Failed-login counting for every password check (a receiver of user_login_failed).
        from missioncontrol import login_protection  # noqa: F401
