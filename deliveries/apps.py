from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = "Deliveries"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deliveries' fan-out follows the activity log (settings.ACTIVITY_LOG_CONSUMERS).
        # Registers the tasks under their names, which outbound.enqueue_deliveries looks up.
        from deliveries import tasks  # noqa: F401
