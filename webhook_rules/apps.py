from django.apps import AppConfig


class WebhookRulesConfig(AppConfig):
    name = "webhook_rules"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Webhook rules"

    # webhook_rules.log_consumer follows the activity log (settings.ACTIVITY_LOG_CONSUMERS): each
    # webhook.received event hands its payload to the worker; rules run there. The event types are
    # registered from settings.ACTIVITY_EVENT_TYPES. A webhook that creates tasks gets each
    # payload's inbox task from webhook_rules.inbox.make_inbox_task (settings.WEBHOOK_INBOX_TASK_MAKER,
    # read by webhooks.inbox): webhooks, a domain app, cannot import boards.services.
