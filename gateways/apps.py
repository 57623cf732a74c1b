from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "gateways"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Gateways"

    def ready(self) -> None:
        from gateways import events
        from gateways.readiness import gateway_states
        from infra.health import register_readiness_report

        events.register()
        register_readiness_report("gateways", gateway_states)
