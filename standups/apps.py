from django.apps import AppConfig


class StandupsConfig(AppConfig):
    name = "standups"
    verbose_name = "Standups"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The event types this app records, with their sentences (activity.registry).
        from standups import events

        events.register()
