from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "activity"
    verbose_name = "Activity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every model is loaded by now, so the apps above can be imported by name.
        from activity.registry import load_event_types

        load_event_types()
