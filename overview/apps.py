from django.apps import AppConfig


class OverviewConfig(AppConfig):
    name = "overview"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from overview import events

        events.register()  # the overview's event types (activity.registry)
