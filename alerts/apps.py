from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from alerts import events

        events.register()
        # triggers.on_activity follows the activity log (settings.ACTIVITY_LOG_CONSUMERS).
