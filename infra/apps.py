from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ThrottledAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with its login and password change throttled (login_protection)."""

    default = False  # InfraConfig stays this module's default config
    default_site = "infra.login_protection.ThrottledAdminSite"


class InfraConfig(AppConfig):
    """An app only for what Django finds through apps: the `ui` template tags and the failed-login
    receiver. It owns no models."""

    name = "infra"
    verbose_name = "Mission Control infrastructure"

    def ready(self) -> None:
        # Failed-login counting for every password check (a receiver of user_login_failed).
        from infra import login_protection  # noqa: F401
