from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Automations"

    def ready(self) -> None:
        # Registers the automation event types (and their sentences) in activity.registry.
        # automations.triggers follows the activity log (settings.ACTIVITY_LOG_CONSUMERS).
        from automations import events  # noqa: F401
