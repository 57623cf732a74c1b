from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from alerts import events, metrics, triggers
        from boards.activity import register_activity_listener
        from missioncontrol.metrics_view import register_scrape_time_collector

        events.register()
        # The seam of DESIGN.md: boards.activity never imports alerts; alerts listens.
        register_activity_listener(triggers.on_activity)
        register_scrape_time_collector(metrics.AlertsCollector())
