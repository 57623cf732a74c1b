from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from boards.activity import add_activity_listener
        from notifications import events  # noqa: F401 - registers the event types
        from notifications.listeners import notify_on_activity

        add_activity_listener(notify_on_activity)
