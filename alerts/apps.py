from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from activity.listeners import register_event_listener
        from alerts import events, triggers

        events.register()
        # The seam of docs/architecture.md: activity never imports alerts; alerts listens.
        register_event_listener(triggers.on_activity)
