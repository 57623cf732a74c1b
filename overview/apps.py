from django.apps import AppConfig


class OverviewConfig(AppConfig):
    name = "overview"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from missioncontrol.metrics_view import register_scrape_time_collector
        from overview.gauges import OverviewCollector

        register_scrape_time_collector(OverviewCollector())
