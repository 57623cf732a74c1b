from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from activity.listeners import register_event_listener
        from notifications import events  # noqa: F401 - registers the event types
        from notifications.listeners import notify_on_activity

        register_event_listener(notify_on_activity)
