from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage and cost"
    default_auto_field = "django.db.models.BigAutoField"

    # Its event types (usage.events.register) and its work gate (usage.selectors.hard_stop_refusal)
    # are listed in settings: ACTIVITY_EVENT_TYPES and AGENT_WORK_GATES.
