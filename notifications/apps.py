from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    # notify_on_activity follows the activity log (settings.ACTIVITY_LOG_CONSUMERS); the event
    # types are registered from settings.ACTIVITY_EVENT_TYPES.
