from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class MissionControlAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with its login and password change throttled (login_protection)."""

    default = False  # MissionControlConfig stays this module's default config
    default_site = "missioncontrol.login_protection.ThrottledAdminSite"


class MissionControlConfig(AppConfig):
    name = "missioncontrol"
    verbose_name = "Mission Control"

    def ready(self) -> None:
        # The User admin's "log out everywhere" action (re-registers the User admin), and
        # login and failed-login audit events and failed-login counting (receivers of
        # django.contrib.auth's signals).
        from missioncontrol import admin_users, login_protection  # noqa: F401
        from missioncontrol.ops import audit  # noqa: F401
