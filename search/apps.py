from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every write records an activity event inside its transaction; following those events
        # keeps the index fresh without the lower apps importing this one (DESIGN.md: arrows down).
        from activity.listeners import register_event_listener
        from search.services import follow_activity

        register_event_listener(follow_activity)
