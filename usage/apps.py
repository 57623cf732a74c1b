from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage and cost"
    default_auto_field = "django.db.models.BigAutoField"
    # usage/events.py registers `usage.reported` with activity.registry; import it from ready()
    # once that registry is on main (issue 15).
