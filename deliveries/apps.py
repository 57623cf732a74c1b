from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = "Deliveries"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deliveries sit above activity; they join the one event path through its listener seam
        # so that activity never imports them (docs/architecture.md).
        from activity.listeners import register_event_listener
        from deliveries.outbound import create_deliveries_for_event

        register_event_listener(create_deliveries_for_event)
        # Registers the tasks under their names, which outbound.enqueue_deliveries looks up.
        from deliveries import tasks  # noqa: F401
