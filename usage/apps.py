from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage and cost"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The event types this app records, with their sentences (activity.registry).
        from agents.gates import register_work_gate
        from usage import events  # noqa: F401
        from usage.selectors import hard_stop_refusal

        # A spent budget with its hard stop on refuses the agent's work-taking calls (402).
        register_work_gate("usage.hard_stop", hard_stop_refusal)
