from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Login and failed-login audit events are receivers of django.contrib.auth's signals.
        from ops import audit  # noqa: F401
