from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"
    # triggers.on_activity follows the activity log (settings.ACTIVITY_LOG_CONSUMERS); the event
    # types are registered from settings.ACTIVITY_EVENT_TYPES.
