from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    default_auto_field = "django.db.models.BigAutoField"

    # Every write records an activity event; search.services.follow_activity follows the committed
    # log (settings.ACTIVITY_LOG_CONSUMERS) and keeps the index fresh without the lower apps
    # importing this one (DESIGN.md: arrows down).
