from django.apps import AppConfig


class WebhookRulesConfig(AppConfig):
    name = "webhook_rules"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Webhook rules"

    def ready(self) -> None:
        # webhook_rules.log_consumer follows the activity log (settings.ACTIVITY_LOG_CONSUMERS):
        # each webhook.received event hands its payload to the worker; rules run there. The event
        # types are registered from settings.ACTIVITY_EVENT_TYPES.
        from webhook_rules.inbox import make_inbox_task
        from webhooks.inbox import register_inbox_task_maker

        # A webhook that creates tasks gets each payload's inbox task from here (webhooks.inbox):
        # webhooks, a domain app, cannot import boards.services.
        register_inbox_task_maker(make_inbox_task)
