from django.apps import AppConfig


class WebhookRulesConfig(AppConfig):
    name = "webhook_rules"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Webhook rules"

    def ready(self) -> None:
        from webhook_rules.tasks import enqueue_rule_evaluation
        from webhooks import services as webhook_services

        # The inbound side calls its listeners after a payload commits; rules run in the worker.
        webhook_services.PAYLOAD_STORED_LISTENERS.append(enqueue_rule_evaluation)
        # Registers the rule event types (and their sentences) in activity.registry.
        from webhook_rules import events  # noqa: F401
