from django.apps import AppConfig


class TeamsConfig(AppConfig):
    """Organizations, members, invitations and board groups in the app (not only Django admin)."""

    name = "teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The activity registry (h15) is here: importing the module registers teams' event types.
        from teams import events  # noqa: F401
