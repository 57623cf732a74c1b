from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # notify_on_activity follows the activity log (settings.ACTIVITY_LOG_CONSUMERS).
        from notifications import events  # noqa: F401 - registers the event types
