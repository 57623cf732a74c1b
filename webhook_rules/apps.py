from django.apps import AppConfig


class WebhookRulesConfig(AppConfig):
    name = "webhook_rules"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Webhook rules"

    def ready(self) -> None:
        # webhook_rules.log_consumer follows the activity log (settings.ACTIVITY_LOG_CONSUMERS):
        # each webhook.received event hands its payload to the worker; rules run there.
        # Registers the rule event types (and their sentences) in activity.registry.
        from webhook_rules import events  # noqa: F401
        from webhook_rules.inbox import make_inbox_task
        from webhooks.inbox import register_inbox_task_maker

        # A webhook that creates tasks gets each payload's inbox task from here (webhooks.inbox):
        # webhooks, a domain app, cannot import boards.services.
        register_inbox_task_maker(make_inbox_task)
