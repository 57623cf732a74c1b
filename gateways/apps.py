from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "gateways"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Gateways"

    # Each gateway's state on /readyz (gateways.readiness.gateway_states) is listed in
    # settings.READINESS_REPORTS.
